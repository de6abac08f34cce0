package io.prefill.job.cli;

import io.prefill.job.DemoCorpus;
import io.prefill.job.GpuSharePlan;
import io.prefill.job.PatternSearchJob;
import io.prefill.job.PrefillJob;
import io.prefill.job.report.ReportMain;
import io.prefill.model.TextTokenizer;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The applications' real main methods in their own JVM, as spark-submit starts them: the exit code
 * and everything printed. Spark's own default logging (INFO) is in place, as for a user without a
 * log4j2 configuration of their own, so these tests also show that the applications are quiet.
 */
class ApplicationMainTest {
    @TempDir
    static Path work;
    private static Path model;
    private static Path corpus;

    @BeforeAll
    static void tinyModelAndCorpus() throws Exception {
        model = work.resolve("model");
        TinyModelWriter.write(model, TinyModelSpec.demo(), 3L);
        corpus = work.resolve("corpus.jsonl");
        try (TextTokenizer tok = TextTokenizer.load(model.resolve("tokenizer.json"))) {
            DemoCorpus.write(corpus, tok, new int[]{300}, 1L);  // one document and the two without text
        }
    }

    private record Result(int code, String out, String err) {
        List<String> errLines() { return err.lines().toList(); }
    }

    private static Result main(Class<?> app, String... args) throws Exception {
        return main(List.of(), app, args);
    }

    private static Result main(List<String> jvmOptions, Class<?> app, String... args) throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return main(jvmOptions, classpath, app, args);
    }

    private static Result main(List<String> jvmOptions, String classpath, Class<?> app, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("-XX:+IgnoreUnrecognized") || a.startsWith("-Djdk.reflect")
                    || a.startsWith("-Dio.netty")) command.add(a);
        }
        // Spark's default logging, not the test suites' quiet configuration
        command.addAll(List.of("-Xmx2g", "-Dlog4j2.configurationFile=org/apache/spark/log4j2-defaults.properties",
                "-cp", classpath, app.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(work.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Path out = work.resolve("stdout.txt");
        Path err = work.resolve("stderr.txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the application did not end");
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void helpExitsZeroAndListsTheOptionsOfEveryApplication() throws Exception {
        for (Class<?> app : List.of(PrefillJob.class, PatternSearchJob.class, ReportMain.class, GpuSharePlan.class)) {
            Result r = main(app, "--help");
            assertEquals(0, r.code(), app + ": " + r.err());
            assertTrue(r.out().startsWith("usage: ") && r.out().contains("--log-level LEVEL"), r.out());
            assertEquals("", r.err(), app.getName());
        }
    }

    @Test
    void gpuSharePlanRunsWithPlainJavaAndNoSparkOnTheClassPath() throws Exception {
        // as scripts/submit.sh runs it: java -cp the-job-jar (Spark and log4j are the cluster's, not in the jar)
        String ours = String.join(File.pathSeparator, Path.of("target", "classes").toAbsolutePath().toString(),
                Path.of("..", "gpu-udf", "target", "classes").toAbsolutePath().normalize().toString());
        Result ok = main(List.of(), ours, GpuSharePlan.class, "80", "48");
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("--conf spark.prefill.gpuMemoryBudget=51539607552"), ok.out());
        Result usage = main(List.of(), ours, GpuSharePlan.class, "80");
        assertEquals(2, usage.code());
        assertEquals(List.of("[gpu-share-plan] failed: missing argument ENGINE_BUDGET_GIB; expected CARD_GIB "
                + "ENGINE_BUDGET_GIB"), usage.errLines());
        Result tooMuch = main(List.of(), ours, GpuSharePlan.class, "80", "79");
        assertEquals(3, tooMuch.code());
        assertEquals(1, tooMuch.errLines().size(), tooMuch.err());
    }

    @Test
    void aMisspelledOptionIsOneLineAndExitTwo() throws Exception {
        Result r = main(PrefillJob.class, "--input", corpus.toString(), "--model", model.toString(), "--ouptut", "x");
        assertEquals(2, r.code());
        assertEquals(List.of("[prefill] failed: unknown option --ouptut; did you mean --output? "
                + "(--help lists every option)"), r.errLines());
        Result search = main(PatternSearchJob.class, "--model");
        assertEquals(2, search.code());
        assertEquals(List.of("[pattern-search] failed: option --model needs a value (--model DIR) "
                + "(--help lists the options)"), search.errLines());
    }

    @Test
    void aMissingModelIsOneLineAndExitThreeAfterSparkStartsQuietly() throws Exception {
        Result r = main(PrefillJob.class, "--master", "local[1]", "--conf", "spark.ui.enabled=false",
                "--input", corpus.toString(), "--model", work.resolve("no-model").toString(),
                "--output", work.resolve("never").toString());
        assertEquals(3, r.code(), r.err());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("[prefill] failed: ") && r.err().contains("no-model"), r.err());
        assertEquals("", r.out());
        assertFalse(Files.exists(work.resolve("never")));
    }

    @Test
    void aMisspelledSparkSettingFromTheClustersDefaultsIsAUsageError() throws Exception {
        // spark-submit hands spark-defaults.conf to the driver as spark.* system properties
        Result r = main(List.of("-Dspark.prefill.modelCachDir=/tmp/cache"), PrefillJob.class, "--master", "local[1]",
                "--conf", "spark.ui.enabled=false", "--input", corpus.toString(), "--model", model.toString(),
                "--output", work.resolve("never-2").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(List.of("[prefill] failed: unknown setting spark.prefill.modelCachDir; did you mean "
                + "spark.prefill.modelCacheDir? (known: spark.prefill.modelCacheDir, spark.prefill.cuda.device, "
                + "spark.prefill.gpuMemoryBudget, spark.prefill.logDocuments, spark.prefill.test.failFirstAttemptOfPartition)"), r.errLines());
    }

    @Test
    void aCompleteJobWithErrorRowsExitsFiveOnlyWhenAsked() throws Exception {
        Path out = work.resolve("out");
        Result r = main(PrefillJob.class, "--master", "local[1]", "--conf", "spark.ui.enabled=false",
                "--input", corpus.toString(), "--model", model.toString(), "--output", out.toString(),
                "--fail-on-document-errors", "--no-summary");
        assertEquals(5, r.code(), r.err());
        assertEquals("", r.err(), "nothing on stderr for a job that completed");
        assertTrue(Files.isRegularFile(out.resolve("_prefill_summary.json")));
        for (String line : r.out().lines().toList()) assertTrue(line.startsWith("[prefill] "), line);
        Result again = main(PrefillJob.class, "--master", "local[1]", "--conf", "spark.ui.enabled=false",
                "--input", corpus.toString(), "--model", model.toString(), "--output", out.toString(),
                "--write-mode", "resume", "--no-summary");
        assertEquals(0, again.code(), again.err());
    }
}
