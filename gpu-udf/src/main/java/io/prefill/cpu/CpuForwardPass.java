package io.prefill.cpu;

import io.prefill.engine.AttentionStats;
import io.prefill.engine.ForwardBackend;
import io.prefill.engine.ForwardOutput;
import io.prefill.kv.KvSummaryCollector;
import io.prefill.kv.KvSummaryOptions;
import io.prefill.kv.LayerKvObserver;
import io.prefill.model.LayerWeights;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;
import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.HeadPlanner;
import io.prefill.sparse.KeptMass;
import io.prefill.sparse.RangePlan;
import io.prefill.sparse.PatternConfig;

import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * The reference pre-fill in plain Java, the executable specification the CUDA backend is checked
 * against. Activations are fp32; weights are decoded from the mapped checkpoint on use. Each
 * head's attention follows its pattern: the planner turns the pattern and the head's Q/K into a
 * block plan, and {@link PlanAttention} computes exactly the plan's entries.
 */
public final class CpuForwardPass implements ForwardBackend {
    private final ModelConfig config;
    private final ModelWeights weights;
    private final PatternConfig patterns;
    private final NormWeights norms;
    private final double minKeptMass;

    public CpuForwardPass(ModelConfig config, ModelWeights weights, PatternConfig patterns) {
        this(config, weights, patterns, 0);
    }

    /**
     * @param minKeptMass a sparse head whose plan keeps less than this share of its last queries'
     *                    attention mass ({@link KeptMass}) runs dense for that document (0 = never)
     */
    public CpuForwardPass(ModelConfig config, ModelWeights weights, PatternConfig patterns, double minKeptMass) {
        if (!(minKeptMass >= 0 && minKeptMass <= 1)) throw new IllegalArgumentException("minimum kept mass " + minKeptMass);
        this.minKeptMass = minKeptMass;
        this.config = config;
        this.weights = weights;
        this.patterns = patterns;
        this.norms = NormWeights.of(weights, config.numLayers());
    }

    @Override
    public String name() { return "cpu"; }

    @Override
    public ForwardOutput forward(int[] tokens) {
        return forward(tokens, (LayerKvObserver) null);
    }

    @Override
    public boolean supportsKvSummary() { return true; }

    @Override
    public ForwardOutput forward(int[] tokens, KvSummaryOptions kv) {
        KvSummaryCollector collector = new KvSummaryCollector(config.numLayers(), config.numKvHeads(), kv);
        ForwardOutput out = forward(tokens, collector);
        return new ForwardOutput(out.lastLogits(), out.attention(), collector.summary());
    }

    /** The pre-fill; observer (may be null) sees every layer's Q, K and V after RoPE. */
    public ForwardOutput forward(int[] tokens, LayerKvObserver observer) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("cannot pre-fill an empty prompt");
        int hidden = config.hiddenSize();
        float[] x = embed(tokens);
        Rope rope = Rope.prefill(config, n);
        AttentionStats stats = AttentionStats.NONE;
        for (int l = 0; l < config.numLayers(); l++) {
            LayerWeights w = weights.layer(l);
            float[] normed = RmsNorm.apply(x, n, hidden, norms.input()[l], config.rmsNormEps());
            LayerAttention attention = attention(l, w, normed, n, rope, observer);
            stats = stats.plus(attention.stats);
            addInPlace(x, Linear.apply(attention.output, n, w.o(), null));
            normed = RmsNorm.apply(x, n, hidden, norms.postAttention()[l], config.rmsNormEps());
            addInPlace(x, mlp(w, normed, n));
        }
        float[] last = new float[hidden];
        RmsNorm.normalizeRow(x, (n - 1) * hidden, hidden, norms.last(), config.rmsNormEps(), last, 0);
        return new ForwardOutput(Linear.apply(last, 1, weights.lmHead(), null), stats);
    }

    private float[] embed(int[] tokens) {
        int hidden = config.hiddenSize();
        float[] x = new float[tokens.length * hidden];
        float[] row = new float[hidden];
        for (int t = 0; t < tokens.length; t++) {
            int id = tokens[t];
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " at position " + t
                        + " is outside the vocabulary of " + config.vocabSize());
            }
            weights.embedTokens().readRow(id, row);
            System.arraycopy(row, 0, x, t * hidden, hidden);
        }
        return x;
    }

    private record LayerAttention(float[] output, AttentionStats stats) { }

    private LayerAttention attention(int layer, LayerWeights w, float[] normed, int n, Rope rope,
                                     LayerKvObserver observer) {
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int d = config.headDim();
        float[] q = Linear.apply(normed, n, w.q(), w.qBias());
        float[] k = Linear.apply(normed, n, w.k(), w.kBias());
        float[] v = Linear.apply(normed, n, w.v(), w.vBias());
        rope.apply(q, n, heads);
        rope.apply(k, n, kvHeads);
        float[][] kHeads = new float[kvHeads][];
        float[][] vHeads = new float[kvHeads][];
        for (int g = 0; g < kvHeads; g++) {
            kHeads[g] = HeadLayout.extractHead(k, n, kvHeads, d, g);
            vHeads[g] = HeadLayout.extractHead(v, n, kvHeads, d, g);
        }
        float[] out = new float[n * heads * d];
        AtomicLong computed = new AtomicLong();
        AtomicLong sparseRuns = new AtomicLong();
        AttentionStats.Certificate[] kept = new AttentionStats.Certificate[heads];
        // Heads are independent; each also parallelises internally over query blocks.
        IntStream.range(0, heads).parallel().forEach(h -> {
            int g = h / config.groupSize();
            float[] qh = HeadLayout.extractHead(q, n, heads, d, h);
            HeadPattern pattern = patterns.pattern(layer, h);
            BlockPlan planned = HeadPlanner.plan(pattern, patterns.minSparseLength(), qh, kHeads[g], n, d);
            boolean sparse = !(pattern instanceof HeadPattern.Dense) && n >= patterns.minSparseLength();
            double keptMass = sparse ? KeptMass.ofLastQueries(qh, kHeads[g], n, d, planned) : 1;
            boolean fallback = sparse && keptMass < minKeptMass;
            BlockPlan plan = fallback ? RangePlan.dense(n) : planned;
            float[] oh = new float[n * d];
            PlanAttention.attend(qh, kHeads[g], vHeads[g], n, d, plan, oh);
            HeadLayout.insertHead(oh, n, heads, d, h, out);
            computed.addAndGet(plan.computedEntries());
            if (sparse && !fallback) sparseRuns.incrementAndGet();
            kept[h] = fallback ? AttentionStats.Certificate.denseFallback(layer, h)
                    : sparse ? AttentionStats.Certificate.of(keptMass, layer, h) : AttentionStats.Certificate.NONE;
        });
        if (observer != null) {
            float[][] qHeads = new float[heads][];
            for (int h = 0; h < heads; h++) qHeads[h] = HeadLayout.extractHead(q, n, heads, d, h);
            observer.onLayer(layer, n, d, qHeads, kHeads, vHeads);
        }
        long denseEntries = (long) heads * n * (n + 1L) / 2;
        int sparse = (int) sparseRuns.get();
        AttentionStats.Certificate certificate = AttentionStats.Certificate.NONE;
        for (AttentionStats.Certificate c : kept) certificate = certificate.plus(c);
        return new LayerAttention(out, new AttentionStats(computed.get(), denseEntries, sparse, heads - sparse, certificate));
    }

    private float[] mlp(LayerWeights w, float[] normed, int n) {
        float[] gate = Linear.apply(normed, n, w.gate(), null);
        float[] up = Linear.apply(normed, n, w.up(), null);
        IntStream.range(0, gate.length).parallel().forEach(i -> gate[i] = silu(gate[i]) * up[i]);
        return Linear.apply(gate, n, w.down(), null);
    }

    static float silu(float z) { return (float) (z / (1.0 + Math.exp(-z))); }

    private static void addInPlace(float[] x, float[] delta) {
        IntStream.range(0, x.length).parallel().forEach(i -> x[i] += delta[i]);
    }
}
