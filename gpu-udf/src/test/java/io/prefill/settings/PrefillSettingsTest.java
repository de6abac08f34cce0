package io.prefill.settings;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefillSettingsTest {
    @Test
    void everyKeyIsDeclaredOnceWithADoc() {
        Set<String> keys = new HashSet<>();
        for (Setting<?> s : PrefillSettings.ALL) {
            assertTrue(keys.add(s.key()), "declared twice: " + s.key());
            assertTrue(!s.doc().isBlank(), s.key());
            assertTrue(s.scope() == Setting.Scope.SPARK_CONF ? s.key().startsWith("spark.prefill.")
                    : s.key().startsWith("prefill."), s.key());
        }
        assertTrue(keys.contains("spark.prefill.gpuMemoryBudget") && keys.contains("prefill.cuda.gemm"));
    }

    @Test
    void aMisspelledSparkSettingNamesTheNearestKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PrefillSettings.checkSparkSettings(Map.of("spark.prefill.gpuMemoryBuget", "1g")));
        assertTrue(e.getMessage().contains("unknown setting spark.prefill.gpuMemoryBuget"), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean spark.prefill.gpuMemoryBudget?"), e.getMessage());
        // far from every key: no guess, but the known keys are listed
        e = assertThrows(IllegalArgumentException.class,
                () -> PrefillSettings.spark("spark.prefill.somethingElseEntirely"));
        assertTrue(!e.getMessage().contains("did you mean") && e.getMessage().contains("spark.prefill.modelCacheDir"),
                e.getMessage());
    }

    @Test
    void sparkConfIsCheckedKeyByKeyAndOtherKeysAreLeftAlone() {
        SparkConf ok = new SparkConf(false).set("spark.prefill.cuda.device", "1").set("spark.executor.memory", "8g")
                .set("spark.other.thing", "x");
        PrefillSettings.checkSparkConf(ok);
        assertEquals(1, PrefillSettings.CUDA_DEVICE.get(ok));
        SparkConf typo = new SparkConf(false).set("spark.prefill.modelCachDir", "/tmp/x");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PrefillSettings.checkSparkConf(typo))
                .getMessage().contains("spark.prefill.modelCacheDir"));
        SparkConf badValue = new SparkConf(false).set("spark.prefill.cuda.device", "first");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PrefillSettings.checkSparkConf(badValue));
        assertTrue(e.getMessage().contains("spark.prefill.cuda.device expects int >= 0, got 'first'"), e.getMessage());
    }

    @Test
    void valuesParseByTypeAndDefaultWhenUnset() {
        assertEquals(48L << 30, PrefillSettings.GPU_MEMORY_BUDGET.parse("48g"));
        assertEquals(1024L, PrefillSettings.GPU_MEMORY_BUDGET.parse("1024"));
        assertEquals(0L, PrefillSettings.GPU_MEMORY_BUDGET.get((SparkConf) null));
        assertNull(PrefillSettings.MODEL_CACHE_DIR.get(new SparkConf(false)));
        assertEquals(true, PrefillSettings.CUDA_SYNC_LAUNCHES.parse("TRUE"));
        assertThrows(IllegalArgumentException.class, () -> PrefillSettings.CUDA_SYNC_LAUNCHES.parse("yes"));
        assertThrows(IllegalArgumentException.class, () -> PrefillSettings.CUDA_DEVICE.parse("-1"));
        // a Spark setting is not read as a JVM property, and the other way round
        assertThrows(IllegalStateException.class, () -> PrefillSettings.CUDA_DEVICE.get());
        assertThrows(IllegalStateException.class, () -> PrefillSettings.CUDA_GEMM.get(new SparkConf(false)));
    }

    @Test
    void jvmPropertiesAreReadThroughTheRegistry() {
        String key = PrefillSettings.CUDA_DENSE.key();
        String before = System.getProperty(key);
        try {
            System.clearProperty(key);
            assertEquals("AUTO", PrefillSettings.CUDA_DENSE.get());
            System.setProperty(key, "DENSE_MMA");
            assertEquals("DENSE_MMA", PrefillSettings.CUDA_DENSE.get());
        } finally {
            if (before == null) System.clearProperty(key);
            else System.setProperty(key, before);
        }
    }

    @Test
    void closestNameIsOnlyOfferedWhenNear() {
        Set<String> known = Set.of("--output", "--input", "--model");
        assertEquals("--output", Names.closest("--outptu", known).orElseThrow());
        assertEquals("--model", Names.closest("--modle", known).orElseThrow());
        assertTrue(Names.closest("--frobnicate", known).isEmpty());
        assertEquals(1, Names.distance("ab", "ba"));
        assertEquals(3, Names.distance("kitten", "sitting"));
    }
}
