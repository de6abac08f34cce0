package io.prefill.model;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Writes a checkpoint of a real model's shape with seeded random bf16 weights, in the Hugging Face
 * layout the loader reads (config.json, {@code model-0000N-of-0000M.safetensors} shards with their
 * index, tokenizer.json), streaming: the weights never sit in memory, so a 16 GB Llama-3-8B-shaped
 * checkpoint is written at disk speed by all cores. For deployment checks and load-time measurements;
 * its answers are meaningless.
 *
 * <p>Matrices and embeddings are uniform with standard deviation 0.02 (transformers' initializer
 * range), norm weights 1, biases 0. The bytes depend only on the config, the shard count and the seed.
 *
 * <pre>
 * java -cp job-*-spark.jar io.prefill.model.SyntheticCheckpoint --shape llama3-8b-262k --tokenizer tokenizer.json --out DIR
 *   [--shards 4] [--seed 1] [--layers N]
 * </pre>
 */
public final class SyntheticCheckpoint {
    /** Values per generated chunk (16 MiB of bf16). */
    static final int CHUNK = 8 << 20;
    static final double STD = 0.02;

    private SyntheticCheckpoint() { }

    /**
     * Llama-3-8B-Instruct-262k's shape (Llama-3-8B with the long-context RoPE base and 262,144 positions,
     * the model MInference's published Llama-3 pattern config is for); 128,256 tokens, BOS 128000.
     */
    public static ModelConfig llama3_8b_262k() {
        ModelConfig c = new ModelConfig(Architecture.LLAMA, 128256, 4096, 14336, 32, 32, 8, 128, 1e-5,
                283461213.0, RopeScaling.NONE, 262144, false, false, 128000, 128001);
        c.validate("llama3-8b-262k");
        return c;
    }

    /** The named shape: {@code llama3-8b-262k}. */
    public static ModelConfig shape(String name) {
        if (name.equals("llama3-8b-262k")) return llama3_8b_262k();
        throw new IllegalArgumentException("unknown shape '" + name + "' (known: llama3-8b-262k)");
    }

    /** A config with only the first layers of c (a smaller checkpoint of the same widths). */
    public static ModelConfig withLayers(ModelConfig c, int layers) {
        return new ModelConfig(c.architecture(), c.vocabSize(), c.hiddenSize(), c.intermediateSize(), layers,
                c.numHeads(), c.numKvHeads(), c.headDim(), c.rmsNormEps(), c.ropeTheta(), c.ropeScaling(),
                c.partialRotaryFactor(), c.maxPositionEmbeddings(), c.tieWordEmbeddings(), c.qkvBias(), c.bosTokenId(),
                c.eosTokenId());
    }

    /**
     * Writes config.json, the weights in shards files (one file without an index when shards is 1) and a
     * copy of tokenizer into dir, on threads threads. Returns the bytes of weights written.
     */
    public static long write(Path dir, ModelConfig config, Path tokenizer, int shards, long seed, int threads) {
        config.validate("synthetic checkpoint");
        try {
            Files.createDirectories(dir);
            ObjectNode json = ModelConfigJson.toTree(config);
            json.put("torch_dtype", "bfloat16");
            Files.writeString(dir.resolve(LoadedModel.CONFIG_FILE), ModelConfigJson.MAPPER.writeValueAsString(json));
            if (tokenizer != null) {
                Files.copy(tokenizer, dir.resolve(LoadedModel.TOKENIZER_FILE), StandardCopyOption.REPLACE_EXISTING);
            }
            List<CheckpointLayout.Tensor> tensors = CheckpointLayout.tensors(config);
            List<List<CheckpointLayout.Tensor>> plan = CheckpointLayout.shards(tensors, DType.BF16, shards);
            ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
                Thread t = new Thread(r, "synthetic-checkpoint");
                t.setDaemon(true);
                return t;
            });
            long bytes = 0;
            try {
                int tensorIndex = 0;
                for (int s = 0; s < plan.size(); s++) {
                    Path file = dir.resolve(shards == 1 ? WeightStore.SINGLE_FILE : CheckpointLayout.shardName(s, shards));
                    bytes += writeShard(file, plan.get(s), tensorIndex, seed, pool, Math.max(1, threads));
                    tensorIndex += plan.get(s).size();
                }
            } finally {
                pool.shutdownNow();
            }
            if (shards > 1) {
                Files.writeString(dir.resolve(WeightStore.INDEX_FILE),
                        ModelConfigJson.MAPPER.writeValueAsString(CheckpointLayout.index(plan, DType.BF16)));
            }
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the synthetic checkpoint to " + dir, e);
        }
    }

    private static long writeShard(Path file, List<CheckpointLayout.Tensor> tensors, int firstIndex, long seed,
                                   ExecutorService pool, int threads) throws IOException {
        byte[] header = header(tensors);
        long bytes = 0;
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(out, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length));
            writeFully(out, ByteBuffer.wrap(header));
            int batch = 2 * threads;
            for (int i = 0; i < tensors.size(); i++) {
                CheckpointLayout.Tensor t = tensors.get(i);
                long tensorSeed = mix(seed * 0x9E3779B97F4A7C15L + firstIndex + i);
                long chunks = (t.numel() + CHUNK - 1) / CHUNK;
                for (long first = 0; first < chunks; first += batch) {
                    List<Future<ByteBuffer>> filled = new ArrayList<>();
                    for (long c = first; c < Math.min(chunks, first + batch); c++) {
                        long chunk = c;
                        int count = (int) Math.min(CHUNK, t.numel() - chunk * CHUNK);
                        filled.add(pool.submit(() -> chunk(t.role(), mix(tensorSeed + chunk), count)));
                    }
                    for (Future<ByteBuffer> f : filled) bytes += writeFully(out, get(f));
                }
            }
        }
        return bytes;
    }

    /** count bf16 values of a tensor of role, little-endian, from the chunk's own seed. */
    static ByteBuffer chunk(CheckpointLayout.Role role, long seed, int count) {
        ByteBuffer b = ByteBuffer.allocate(2 * count).order(ByteOrder.LITTLE_ENDIAN);
        switch (role) {
            case NORM -> { for (int i = 0; i < count; i++) b.putShort(FloatCodecs.floatToBf16(1f)); }
            case BIAS -> { for (int i = 0; i < count; i++) b.putShort((short) 0); }
            default -> {
                short[] table = Uniform.TABLE;
                long state = seed;
                int i = 0;
                while (i < count) {
                    state += 0x9E3779B97F4A7C15L;
                    long r = mix(state);
                    for (int k = 0; k < 4 && i < count; k++, i++, r >>>= 16) b.putShort(table[(int) (r & 0xFFFF)]);
                }
            }
        }
        return b.flip();
    }

    /** 65,536 bf16 values evenly spread over the uniform distribution of standard deviation {@link #STD}. */
    private static final class Uniform {
        static final short[] TABLE = new short[1 << 16];

        static {
            double half = STD * Math.sqrt(3);
            for (int u = 0; u < TABLE.length; u++) {
                TABLE[u] = FloatCodecs.floatToBf16((float) ((u + 0.5) / TABLE.length * 2 * half - half));
            }
        }
    }

    /** SplitMix64's output function. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static byte[] header(List<CheckpointLayout.Tensor> tensors) {
        ObjectNode root = ModelConfigJson.MAPPER.createObjectNode();
        root.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (CheckpointLayout.Tensor t : tensors) {
            ObjectNode e = root.putObject(t.name());
            e.put("dtype", "BF16");
            Arrays.stream(t.shape()).forEach(e.putArray("shape")::add);
            e.putArray("data_offsets").add(offset).add(offset + t.bytes(DType.BF16));
            offset += t.bytes(DType.BF16);
        }
        byte[] raw = root.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (raw.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(raw, padded);
        Arrays.fill(out, raw.length, padded, (byte) ' ');
        return out;
    }

    private static int writeFully(FileChannel out, ByteBuffer b) throws IOException {
        int n = b.remaining();
        while (b.hasRemaining()) out.write(b);
        return n;
    }

    private static ByteBuffer get(Future<ByteBuffer> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing the synthetic checkpoint", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("generating weights failed: " + e.getCause(), e.getCause());
        }
    }

    public static void main(String[] args) {
        String shape = null;
        Path out = null;
        Path tokenizer = null;
        int shards = 4;
        long seed = 1;
        int layers = -1;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) usage("option " + a + " needs a value");
            String v = args[++i];
            switch (a) {
                case "--shape" -> shape = v;
                case "--out" -> out = Path.of(v);
                case "--tokenizer" -> tokenizer = Path.of(v);
                case "--shards" -> shards = Integer.parseInt(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--layers" -> layers = Integer.parseInt(v);
                default -> usage("unknown option " + a);
            }
        }
        if (shape == null || out == null) usage("--shape and --out are required");
        if (tokenizer != null && !Files.isRegularFile(tokenizer)) usage("tokenizer " + tokenizer + " is not a file");
        ModelConfig config = shape(shape);
        if (layers > 0) config = withLayers(config, layers);
        int threads = Runtime.getRuntime().availableProcessors();
        long start = System.nanoTime();
        long bytes = write(out, config, tokenizer, shards, seed, threads);
        double s = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "[synthetic-checkpoint] %s (%d layers): %.2f GB of bf16 weights in %d shard(s) "
                + "written to %s in %.1f s (%.2f GB/s, %d threads)%n", shape, config.numLayers(), bytes / 1e9, shards,
                out, s, bytes / 1e9 / s, threads);
    }

    private static void usage(String problem) {
        System.err.println(problem + "\nusage: SyntheticCheckpoint --shape llama3-8b-262k --out DIR [--tokenizer FILE] "
                + "[--shards N] [--seed S] [--layers N]");
        System.exit(2);
    }
}
