package io.prefill.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prefill.cpu.CpuForwardPass;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;
import io.prefill.model.SafetensorsModelWeights;
import io.prefill.model.WeightStore;
import io.prefill.settings.PrefillSettings;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * The Hugging Face parity fixtures that {@code bench/hf_fixtures.py} writes (one directory per tiny
 * model: its checkpoint, case-&lt;n&gt; prompts, transformers' bf16 logits and the float64 "truth") and
 * the comparison both parity tests make: relative L2 error at most {@value #MAX_REL_L2} against
 * the truth (else transformers' bf16 logits) and the same argmax, where the reference's second-best
 * token is also accepted when its top two logits are within bf16 noise of each other.
 */
public final class HfParity {
    public static final String FIXTURES_PROPERTY = PrefillSettings.TEST_HF_FIXTURES.key();
    public static final double MAX_REL_L2 = 1e-2;
    private static final Pattern CASE_FILE = Pattern.compile("case-(\\d+)\\.tokens\\.i32");

    private HfParity() { }

    /** The fixtures folder named by the property; the calling test is skipped (said why) when unset or missing. */
    public static Path rootOrSkip() {
        String property = System.getProperty(FIXTURES_PROPERTY);
        Assumptions.assumeTrue(property != null && !property.isBlank(),
                () -> "-D" + FIXTURES_PROPERTY + " not set (run.sh hf makes the fixtures with bench/hf_fixtures.py)");
        Path root = Paths.get(property);
        Assumptions.assumeTrue(Files.isDirectory(root), () -> FIXTURES_PROPERTY + "=" + root + " is not a directory");
        return root;
    }

    /** The model directories (with a config.json) of the fixtures; at least one. */
    public static List<Path> modelDirectories(Path root) throws IOException {
        List<Path> models;
        try (Stream<Path> s = Files.list(root)) {
            models = s.filter(d -> Files.isRegularFile(d.resolve("config.json"))).sorted().toList();
        }
        assertTrue(!models.isEmpty(), () -> root + ": no model directory (with config.json) in the fixtures");
        return models;
    }

    /** Prints the case's line, then asserts the bounds; the reference is the truth where there is one. */
    public static void compare(Fixture f, Case c, String backend, float[] ours, double seconds) {
        String what = f.name + " n=" + c.n + " " + backend;
        assertEquals(f.config.vocabSize(), ours.length, what + ": logits length");
        for (int i = 0; i < ours.length; i++) {
            int at = i;
            assertTrue(Float.isFinite(ours[i]), () -> what + ": logit " + at + " is " + ours[at]);
        }
        boolean hasTruth = c.truth != null;
        float[] ref = hasTruth ? c.truth : c.hf;
        String refName = hasTruth ? "truth" : "HF bf16";
        double relRef = relL2(ours, ref);
        double relHf = relL2(ours, c.hf);
        int[] top = top2(ref);
        int oursTop = argmax(ours);
        int hfTop = argmax(c.hf);
        double gap = ref[top[0]] - ref[top[1]];
        double window = tieWindow(ours, ref, top[0]);

        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "[hf-parity] %-12s n=%-5d %-4s", f.name, c.n, backend));
        if (hasTruth) {
            line.append(String.format(Locale.ROOT, " rel-L2 vs truth %.2e, vs HF bf16 %.2e (HF bf16 vs truth %.2e);",
                    relRef, relHf, relL2(c.hf, c.truth)));
        } else {
            line.append(String.format(Locale.ROOT, " rel-L2 vs HF bf16 %.2e (no truth file);", relHf));
        }
        line.append(String.format(Locale.ROOT, " argmax %d, %s %d (gap to 2nd %.4f)", oursTop, refName, top[0], gap));
        if (hasTruth) line.append(String.format(Locale.ROOT, ", HF bf16 %d", hfTop));
        line.append(String.format(Locale.ROOT, "; %.3f s", seconds));

        List<String> problems = new ArrayList<>();
        // The bound: 1e-2, or, where transformers' own bf16 run of the model is further than that from
        // the float64 truth (the tiny Phi-3: 2e-2 to 6e-2), no further from the truth than it is.
        double bound = hasTruth ? Math.max(MAX_REL_L2, relL2(c.hf, c.truth)) : MAX_REL_L2;
        if (!(relRef <= bound)) {
            problems.add(String.format(Locale.ROOT, "relative L2 error vs %s %.3e > %.3e", refName, relRef, bound)
                    + (hasTruth ? String.format(Locale.ROOT, " (transformers' own bf16 logits: %.3e)", relL2(c.hf, c.truth))
                                : ""));
        }
        String note = "";
        if (oursTop != top[0]) {
            if (oursTop == top[1] && gap <= window) {
                note = String.format(Locale.ROOT, "; accepted %s's second-best token %d: its top two are %.4f apart, "
                        + "within bf16 noise (%.4f)", refName, top[1], gap, window);
            } else {
                problems.add(String.format(Locale.ROOT, "argmax %d (logit %.4f) differs from %s's %d (%.4f; its 2nd %d at "
                        + "%.4f, bf16 noise window %.4f)", oursTop, ref[oursTop], refName, top[0], ref[top[0]], top[1],
                        ref[top[1]], window));
            }
        }
        line.append(note).append(problems.isEmpty() ? "  ok" : "  FAIL: " + String.join("; ", problems));
        System.out.println(line);
        System.out.flush();
        if (!problems.isEmpty()) fail(what + ": " + String.join("; ", problems));
    }

    /**
     * How close the reference's top two logits must be for the second to count as a tie: two bf16
     * ulps of the top logit, or three times our rms error (itself capped at the L2 bound).
     */
    public static double tieWindow(float[] ours, float[] ref, int top) {
        double err = 0, mag = 0;
        for (int i = 0; i < ref.length; i++) {
            double e = (double) ours[i] - ref[i];
            err += e * e;
            mag += (double) ref[i] * ref[i];
        }
        double rmsErr = Math.sqrt(err / ref.length), rmsRef = Math.sqrt(mag / ref.length);
        double bf16Ulp = Math.ulp(Math.abs(ref[top])) * 65536.0;
        return Math.max(2 * bf16Ulp, 3 * Math.min(rmsErr, MAX_REL_L2 * rmsRef));
    }

    public static double relL2(float[] got, float[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double e = (double) got[i] - ref[i];
            num += e * e;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }

    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    public static int[] top2(float[] x) {
        int first = argmax(x), second = first == 0 ? 1 : 0;
        for (int i = 0; i < x.length; i++) if (i != first && x[i] > x[second]) second = i;
        return new int[] {first, second};
    }

    public static List<Integer> caseLengths(Path dir) throws IOException {
        List<Integer> lengths = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Matcher m = CASE_FILE.matcher(p.getFileName().toString());
                if (m.matches()) lengths.add(Integer.parseInt(m.group(1)));
            }
        }
        lengths.sort(null);
        return lengths;
    }

    public static void printManifest(Path root) {
        Path manifest = root.resolve("manifest.json");
        try {
            JsonNode m = new ObjectMapper().readTree(manifest.toFile());
            System.out.println("[hf-parity] fixtures " + root + ": transformers " + m.path("transformers").asText("?")
                    + ", torch " + m.path("torch").asText("?") + ", " + m.path("device").asText("?")
                    + "; truth: " + m.path("truth").asText("?") + "; bound " + MAX_REL_L2);
        } catch (IOException | RuntimeException e) {
            System.out.println("[hf-parity] fixtures " + root + ": no readable manifest.json (" + e + ")");
        }
    }


    // ---- fixtures ----

    /** One prompt: its tokens, transformers' bf16 logits and the float64 truth (null when absent). */
    public record Case(int n, int[] tokens, float[] hf, float[] truth) { }

    public static final class Fixture implements AutoCloseable {
        public final String name;
        public final Path dir;
        public final ModelConfig config;
        public final WeightStore store;
        public final ModelWeights weights;
        public final PatternConfig dense;
        private CpuForwardPass cpu;

        private Fixture(Path dir, ModelConfig config, WeightStore store, ModelWeights weights) {
            this.name = dir.getFileName().toString();
            this.dir = dir;
            this.config = config;
            this.store = store;
            this.weights = weights;
            this.dense = PatternConfig.uniform(name, config.numLayers(), config.numHeads(),
                    PatternConfig.DEFAULT_MIN_SPARSE_LENGTH, new HeadPattern.Dense());
        }

        public static Fixture open(Path dir) {
            ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
            WeightStore store = WeightStore.open(dir);
            try {
                return new Fixture(dir, config, store, SafetensorsModelWeights.bind(config, store));
            } catch (RuntimeException e) {
                store.close();
                throw e;
            }
        }

        public synchronized CpuForwardPass cpu() {
            if (cpu == null) cpu = new CpuForwardPass(config, weights, dense);
            return cpu;
        }

        public Case load(int n) {
            int[] tokens = readInts(dir.resolve("case-" + n + ".tokens.i32"));
            assertEquals(n, tokens.length, () -> name + ": case-" + n + ".tokens.i32 holds " + tokens.length + " tokens");
            Path hfFile = dir.resolve("case-" + n + ".logits.f32");
            assertTrue(Files.isRegularFile(hfFile), () -> hfFile + " is missing");
            float[] hf = readFloats(hfFile);
            assertEquals(config.vocabSize(), hf.length, () -> hfFile + ": logits length");
            Path truthFile = dir.resolve("case-" + n + ".logits-fp32.f32");
            float[] truth = Files.isRegularFile(truthFile) ? readFloats(truthFile) : null;
            if (truth != null) assertEquals(config.vocabSize(), truth.length, () -> truthFile + ": logits length");
            return new Case(n, tokens, hf, truth);
        }

        @Override
        public void close() { store.close(); }
    }

    public static int[] readInts(Path p) {
        ByteBuffer b = littleEndian(p);
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }

    public static float[] readFloats(Path p) {
        ByteBuffer b = littleEndian(p);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    private static ByteBuffer littleEndian(Path p) {
        try {
            byte[] bytes = Files.readAllBytes(p);
            assertEquals(0, bytes.length % 4, () -> p + ": size " + bytes.length + " is not a multiple of 4");
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(p + ": cannot read", e);
        }
    }
}
