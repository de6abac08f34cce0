package io.prefill.udf;

import io.prefill.engine.EngineOptions;
import io.prefill.engine.PrefillEngine;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Set;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EngineCacheTest {
    @TempDir
    Path dir;

    private EngineSpec spec(PatternConfig patterns) {
        return new EngineSpec(dir.resolve("m").toString(), patterns, "test", "cpu", EngineOptions.defaults());
    }

    @Test
    void oneEnginePerSpecAndDeviceSharedByConcurrentTasks() {
        TinyModelWriter.write(dir.resolve("m"), TinyModelSpec.demo(), 1);
        EngineSpec spec = spec(null);
        Set<PrefillEngine> seen = ConcurrentHashMap.newKeySet();
        IntStream.range(0, 16).parallel().forEach(i -> seen.add(EngineCache.get(spec, 0)));
        assertEquals(1, seen.size(), "concurrent first uses must build one engine");
        assertSame(EngineCache.get(spec, 0), EngineCache.get(spec, 0));
        assertNotSame(EngineCache.get(spec, 0), EngineCache.get(spec, 1), "each device gets its own engine");
        EngineSpec other = spec(PatternConfig.uniform("m", 2, 4, 0, new HeadPattern.Dense()));
        assertNotSame(EngineCache.get(spec, 0), EngineCache.get(other, 0));
    }

    @Test
    void aSpecSerialisedToAnExecutorFindsTheEngineBuiltForTheParsedConfig() throws Exception {
        TinyModelWriter.write(dir.resolve("m"), TinyModelSpec.demo(), 1);
        PatternConfig mixed = new PatternConfig("m", 2, 4, 0, List.of(
                List.of(new HeadPattern.VerticalSlash(64, 256), new HeadPattern.AShape(4, 64),
                        new HeadPattern.BlockSparse(3), new HeadPattern.Dense()),
                List.of(new HeadPattern.Dense(), new HeadPattern.Dense(), new HeadPattern.AShape(0, 1),
                        new HeadPattern.VerticalSlash(30, 50))));
        EngineSpec spec = spec(mixed);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(spec);
        }
        EngineSpec received;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            received = (EngineSpec) in.readObject();
        }
        assertEquals(spec, received);
        assertEquals(mixed, received.patterns());
        assertSame(EngineCache.get(spec, 0), EngineCache.get(received, 0));
    }

    @Test
    void theBuildOfAnEngineIsRecordedOnceWithItsBuilder() {
        TinyModelWriter.write(dir.resolve("m"), TinyModelSpec.demo(), 1);
        EngineSpec spec = spec(null);
        assertEquals(null, EngineCache.built(spec, 5));
        EngineCache.get(spec, 5);
        EngineCache.Built first = EngineCache.built(spec, 5);
        assertEquals(-1, first.byTaskAttempt(), "built outside a task (the driver)");
        assertTrue(first.seconds() > 0);
        EngineCache.get(spec, 5);
        assertSame(first, EngineCache.built(spec, 5), "a reuse does not rebuild");
    }

    @Test
    void theCpuBackendNeedsNoDevice() {
        assertEquals(-1, EngineCache.deviceFor(spec(null)));
    }

    @Test
    void aConfigThatDoesNotFitTheModelNamesItsSource() {
        TinyModelWriter.write(dir.resolve("m"), TinyModelSpec.demo(), 1);
        EngineSpec wrong = new EngineSpec(dir.resolve("m").toString(),
                PatternConfig.uniform("m", 5, 4, 0, new HeadPattern.Dense()), "five-layers.json", "cpu",
                EngineOptions.defaults());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EngineCache.get(wrong, -1));
        assertTrue(e.getMessage().contains("five-layers.json"), e.getMessage());
    }

    @Test
    void theDriverChecksACudaJobWithoutTouchingAGpu() {
        TinyModelSpec supported = new TinyModelSpec(io.prefill.model.Architecture.LLAMA, 256, 688, 2, 4, 2, 64, 500000.0,
                io.prefill.model.RopeScaling.NONE, false, io.prefill.model.DType.BF16, 1 << 20);
        TinyModelWriter.write(dir.resolve("ok"), supported, 2);
        EngineSpec cuda = new EngineSpec(dir.resolve("ok").toString(), null, "default", "cuda", EngineOptions.defaults());
        PrefillEngine driver = EngineCache.onDriver(cuda);
        assertEquals("cpu", driver.backendName(), "the driver validates on the cpu backend");

        TinyModelWriter.write(dir.resolve("m"), TinyModelSpec.demo(), 1);  // head_dim 16: no kernels for it
        EngineSpec unsupported = new EngineSpec(dir.resolve("m").toString(), null, "default", "cuda", EngineOptions.defaults());
        RuntimeException e = assertThrows(RuntimeException.class, () -> EngineCache.onDriver(unsupported));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("head_dim 16"), e.getMessage());
    }

    @Test
    void fp8WeightsAreTheirOwnEngineAndTheDriverChecksTheirRowsForCuda() {
        TinyModelSpec supported = new TinyModelSpec(io.prefill.model.Architecture.LLAMA, 256, 688, 2, 4, 2, 64, 500000.0,
                io.prefill.model.RopeScaling.NONE, false, io.prefill.model.DType.BF16, 1 << 20);
        TinyModelWriter.write(dir.resolve("ok"), supported, 2);
        EngineSpec bf16 = new EngineSpec(dir.resolve("ok").toString(), null, "default", "cpu", EngineOptions.defaults());
        EngineSpec fp8 = bf16.withWeights(io.prefill.model.WeightFormat.FP8);
        assertEquals("bf16", EngineCache.get(bf16, -1).model().weightsLabel());
        assertEquals("fp8-e4m3", EngineCache.get(fp8, -1).model().weightsLabel());
        assertNotSame(EngineCache.get(bf16, -1), EngineCache.get(fp8, -1));
        EngineCache.onDriver(bf16.withBackend("cuda"));  // the shape suits the kernels, in both formats
        EngineCache.onDriver(fp8.withBackend("cuda"));

        // intermediate_size 680: 16-byte bf16 rows, but not 16-byte E4M3 rows
        TinyModelSpec oddRows = new TinyModelSpec(io.prefill.model.Architecture.LLAMA, 256, 680, 2, 4, 2, 64, 500000.0,
                io.prefill.model.RopeScaling.NONE, false, io.prefill.model.DType.BF16, 1 << 20);
        TinyModelWriter.write(dir.resolve("odd"), oddRows, 2);
        EngineSpec odd = new EngineSpec(dir.resolve("odd").toString(), null, "default", "cuda", EngineOptions.defaults());
        EngineCache.onDriver(odd);
        RuntimeException e = assertThrows(io.prefill.model.ModelFormatException.class,
                () -> EngineCache.onDriver(odd.withWeights(io.prefill.model.WeightFormat.FP8)));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("multiples of 16")
                && e.getMessage().contains("680"), e.getMessage());
    }
}
