package io.prefill.job;

import io.prefill.job.report.AccuracyDensityChart;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeploymentCheckTest {
    @Test
    void theJobSummaryLineGivesTheJobsWall() {
        JobSummary summary = new JobSummary("/out/long", 9, 2, Map.of("device_memory", 1L, "empty_text", 1L),
                630_784, 4_096, 41.7, List.of());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        summary.print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        List<String> lines = new ArrayList<>(List.of("12:00:01.000 INFO SparkContext: Running Spark version 4.0.1"));
        lines.addAll(bytes.toString(StandardCharsets.UTF_8).lines().toList());
        DeploymentLogs logs = DeploymentLogs.parse(lines);
        assertEquals(1, logs.jobs().size(), String.join("\n", lines));
        DeploymentLogs.JobWall job = logs.jobs().get(0);
        assertEquals("/out/long", job.output());
        assertEquals(9, job.documents());
        assertEquals(2, job.errors());
        assertEquals(630_784, job.tokens());
        assertEquals(41.7, job.seconds(), 1e-9);
    }

    @Test
    void taskLogLinesBehindALoggersPrefixAreRead() {
        DeploymentLogs logs = DeploymentLogs.parse(List.of(
                "00:48:19.104 INFO TaskLog: [prefill-task] executor 0, stage 8.0, partition 1, task 8 attempt 0: cuda "
                        + "backend on GPU 0 from Spark task resources gpu=[0]; engine built by this task in 12.31 s",
                "00:48:25.000 INFO TaskLog: [prefill-doc] executor 0, stage 8.0, partition 1, task 8 attempt 0: 131072 "
                        + "tokens, pre-fill 4812.3 ms, in the task 4901.2 ms, ok",
                "00:48:26.000 INFO TaskLog: [prefill-task] executor 0, stage 8.0, partition 1, task 8 attempt 0 "
                        + "succeeded: 1 documents, 131072 tokens, pre-fill 4812.3 ms of 4950.0 ms from its first document "
                        + "to its end",
                "00:48:30.000 WARN TaskSetManager: Lost task 2.0 in stage 8.0 (TID 9) (127.0.0.1 executor 0): "
                        + "ExecutorLostFailure (executor 0 exited caused by one of the running tasks)"));
        assertEquals(1, logs.starts().size());
        assertTrue(logs.starts().get(0).built());
        assertTrue(logs.starts().get(0).where().contains("Spark task resources gpu=[0]"));
        assertEquals(12.31, logs.starts().get(0).buildSeconds(), 1e-9);
        assertEquals(1, logs.docs().size());
        assertEquals(131072, logs.docs().get(0).tokens());
        assertEquals(4901.2, logs.docs().get(0).inTaskMs(), 1e-9);
        assertEquals(1, logs.ends().size());
        assertTrue(logs.ends().get(0).succeeded());
        assertEquals(1, logs.executorLostFailures());
    }

    @Test
    void needleAccuracyIsCountedPerLength() {
        List<DeploymentCheck.Check> checks = DeploymentCheck.needle("needle-sparse", List.of(
                new DeploymentCheck.NeedleRow("a", 4096, " 7", " 7", null, 1.0),
                new DeploymentCheck.NeedleRow("b", 4096, " 7", "7", null, 0.5),
                new DeploymentCheck.NeedleRow("c", 8192, " 3", " 9", null, 0.25),
                new DeploymentCheck.NeedleRow("d", 8192, " 5", " 5", null, 0.75),
                new DeploymentCheck.NeedleRow("e", 8192, " 1", null, "device_memory", null),
                new DeploymentCheck.NeedleRow("f", 0, null, null, "empty_text", null)));
        assertEquals("1/2 = 0.500 (2 equal without surrounding spaces; 0 error rows; attention density 0.750)",
                value(checks, "needle accuracy at length 4096"));
        assertEquals("1/3 = 0.333 (1 equal without surrounding spaces; 1 error rows; attention density 0.500)",
                value(checks, "needle accuracy at length 8192"));
        assertEquals("2/5 = 0.400", value(checks, "needle accuracy, all lengths"));
        assertFalse(checks.stream().anyMatch(c -> c.verdict().startsWith("FAIL")));
        assertTrue(DeploymentCheck.needle("x", List.of(new DeploymentCheck.NeedleRow("f", 0, null, null, "empty_text", null)))
                .stream().anyMatch(c -> c.verdict().startsWith("FAIL")), "a corpus without answers cannot be scored");
    }

    @Test
    void theAccuracyChartReadsTheNeedleChecksAsWritten(@TempDir Path dir) throws Exception {
        List<String> lines = new ArrayList<>(List.of("run\tcheck\tvalue\tverdict"));
        for (String run : List.of("needle-dense", "needle-patterns")) {
            boolean dense = run.equals("needle-dense");
            DeploymentCheck.needle(run, List.of(
                    new DeploymentCheck.NeedleRow("a", 4096, " 7", " 7", null, dense ? 1.0 : 0.4),
                    new DeploymentCheck.NeedleRow("b", 4096, " 7", " 7", null, dense ? 1.0 : 0.2),
                    new DeploymentCheck.NeedleRow("c", 16384, " 3", dense ? " 3" : " 9", null, dense ? 1.0 : 0.1)))
                    .forEach(c -> lines.add(c.tsv()));
        }
        Path checks = Files.write(dir.resolve("checks.tsv"), lines);
        assertEquals(List.of(new AccuracyDensityChart.Cell(4096, 2, 2, 0.3),
                        new AccuracyDensityChart.Cell(16384, 0, 1, 0.1)),
                AccuracyDensityChart.read(checks, "needle-patterns"));
        assertEquals(1, AccuracyDensityChart.read(checks, "needle-dense").get(1).correct());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AccuracyDensityChart.read(checks, "needle-sparse"));
        assertTrue(e.getMessage().contains("needle-sparse") && e.getMessage().contains("checks.tsv"), e.getMessage());
        Path png = dir.resolve("chart.png");
        AccuracyDensityChart.main(new String[]{png.toString(), "dense=" + checks + ":needle-dense",
            "vertical-slash=" + checks + ":needle-patterns", "vertical-slash=" + checks + ":needle-patterns"});
        byte[] bytes = Files.readAllBytes(png);
        assertTrue(bytes.length > 10_000 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G');
    }

    @Test
    void theFaultRunCountsOnlyDocumentsWithTextBesideTheDeviceMemoryRow() {
        DeploymentLogs logs = DeploymentLogs.parse(List.of());
        List<DeploymentCheck.OutputRow> rows = List.of(row("short", null), row("long", "device_memory"),
                row("after", null), row("empty", "empty_text"), row("null", "empty_text"));
        assertEquals("2 of 2", value(DeploymentCheck.fault("fault", rows, logs), "other documents with text pre-filled"));
        assertTrue(DeploymentCheck.fault("fault", List.of(row("short", null), row("long", "device_memory"),
                row("lost", "engine")), logs).stream().anyMatch(c -> c.check().equals("other documents with text pre-filled")
                && c.verdict().startsWith("FAIL")), "a document with text that failed otherwise is a failure");
    }

    private static DeploymentCheck.OutputRow row(String id, String errorKind) {
        return new DeploymentCheck.OutputRow(id, 100, 0, errorKind == null ? 5 : null, new int[0], new double[0], null, 1.0,
                errorKind, 0);
    }

    private static String value(List<DeploymentCheck.Check> checks, String name) {
        return checks.stream().filter(c -> c.check().equals(name)).findFirst().orElseThrow(() -> new AssertionError(name))
                .value();
    }
}
