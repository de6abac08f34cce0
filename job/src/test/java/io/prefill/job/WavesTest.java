package io.prefill.job;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class WavesTest {
    private static JobOptions options(String... extra) {
        String[] base = {"--input", "in.jsonl", "--output", "out", "--model", "m"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return JobOptions.parse(all);
    }

    @Test
    void byDefaultFourWavesOfTheDefaultParallelism() {
        JobOptions o = options();
        assertEquals(4 * 16, Waves.partitions(o, 16));
        assertEquals(16, Waves.size(o, 64, 16));
    }

    @Test
    void givenPartitionsAreKeptAndSplitIntoWaves() {
        JobOptions o = options("--partitions", "10", "--wave-partitions", "3");
        assertEquals(10, Waves.partitions(o, 16));
        assertEquals(3, Waves.size(o, 10, 16));
        assertEquals(4 * 3, Waves.partitions(options("--wave-partitions", "3"), 16));
    }

    @Test
    void zeroWritesEveryPartitionInOneWave() {
        JobOptions o = options("--partitions", "10", "--wave-partitions", "0");
        assertEquals(10, Waves.size(o, 10, 16));
        assertEquals(16, Waves.partitions(options("--wave-partitions", "0"), 16));
    }
}
