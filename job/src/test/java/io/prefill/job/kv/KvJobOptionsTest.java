package io.prefill.job.kv;

import io.prefill.job.JobOptions;
import io.prefill.kv.KvSummaryOptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvJobOptionsTest {
    private static String[] args(String... extra) {
        String[] base = {"--input", "in.jsonl", "--output", "out/first", "--model", "m"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void firstTokenIsTheDefaultMode() {
        JobOptions o = JobOptions.parse(args());
        assertEquals(JobOptions.Mode.FIRST_TOKEN, o.mode());
        assertNull(o.kvOutput());
        assertEquals(KvSummaryOptions.defaults(), o.kvSummary());
    }

    @Test
    void kvOptionsAreRead() {
        JobOptions o = JobOptions.parse(args("--mode", "kv-summary", "--kv-window", "64", "--kv-top-k", "2048",
                "--kv-sinks", "8", "--kv-pool-kernel", "5", "--kv-pooling", "avg", "--kv-max-bytes", "5000000000"));
        assertEquals(JobOptions.Mode.KV_SUMMARY, o.mode());
        assertEquals(new KvSummaryOptions(64, 2048, 8, 5, KvSummaryOptions.Pooling.AVG, 5_000_000_000L), o.kvSummary());
        assertNull(o.kvOutput(), "kv-summary mode writes to --output");
    }

    @Test
    void bothModeWritesKvBesideTheOutputUnlessTold() {
        assertEquals("out/first-kv", JobOptions.parse(args("--mode", "both")).kvOutput());
        assertEquals("out/kv", JobOptions.parse(args("--mode", "BOTH", "--kv-output", "out/kv")).kvOutput());
    }

    @Test
    void inconsistentKvOptionsAreRefused() {
        assertMessage("--mode", args("--mode", "kv"));
        assertMessage("--kv-* options need", args("--kv-top-k", "10"));
        assertMessage("--kv-output is for --mode both", args("--mode", "kv-summary", "--kv-output", "x"));
        assertMessage("must differ", args("--mode", "both", "--kv-output", "out/first/"));
        assertMessage("resume", args("--mode", "both", "--write-mode", "resume"));
        assertMessage("odd", args("--mode", "both", "--kv-pool-kernel", "4"));
        assertMessage("--kv-max-bytes", args("--mode", "both", "--kv-max-bytes", "-1"));
        assertMessage("median", args("--mode", "both", "--kv-pooling", "median"));
    }

    private static void assertMessage(String expected, String[] a) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobOptions.parse(a));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
