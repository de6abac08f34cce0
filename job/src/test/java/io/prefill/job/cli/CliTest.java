package io.prefill.job.cli;

import io.prefill.cuda.CudaException;
import io.prefill.job.JobOptions;
import io.prefill.model.ModelFormatException;
import io.prefill.settings.OptionTable;
import io.prefill.settings.UsageException;
import io.prefill.sparse.PatternConfigException;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The applications' shared main: exit codes by kind of failure, one-line messages, help, log level. */
class CliTest {
    private static final OptionTable TABLE = OptionTable.builder("app [options]")
            .option("--x", "N", "1", "a number").build();

    private record Run(int code, String out, String err) {
        List<String> errLines() { return err.lines().toList(); }
    }

    private static Run run(OptionTable table, Cli.Body body, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Cli.run("app", table, args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), body);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Run failing(Throwable t, String... args) {
        return run(TABLE, a -> {
            if (t instanceof Exception e) throw e;
            throw (Error) t;
        }, args);
    }

    @AfterEach
    void restoreLogLevel() {
        LogLevels.apply(OptionTable.DEFAULT_LOG_LEVEL);
    }

    @Test
    void eachKindOfFailureHasItsExitCode() {
        assertEquals(Cli.USAGE, failing(new UsageException("bad option")).code());
        assertEquals(Cli.BAD_INPUT, failing(new ModelFormatException("config.json: no hidden_size")).code());
        assertEquals(Cli.BAD_INPUT, failing(new PatternConfigException("p.json: 3 layers, model has 2")).code());
        assertEquals(Cli.BAD_INPUT, failing(new IllegalArgumentException("input x does not exist")).code());
        assertEquals(Cli.BAD_INPUT, failing(new UncheckedIOException(new FileNotFoundException("m/config.json"))).code());
        assertEquals(Cli.CLUSTER, failing(new ClusterException("--backend cuda: no CUDA device")).code());
        assertEquals(Cli.CLUSTER, failing(new CudaException("cuCtxCreate failed", 100)).code());
        assertEquals(Cli.CLUSTER, failing(new UnsatisfiedLinkError("libcuda.so.1: cannot open shared object file")).code());
        assertEquals(Cli.UNFORESEEN, failing(new NullPointerException("x is null")).code());
        assertEquals(Cli.UNFORESEEN, failing(new IllegalStateException("something odd")).code());
        assertEquals(Cli.OK, run(TABLE, a -> Cli.OK).code());
        assertEquals(Cli.DOCUMENT_ERRORS, run(TABLE, a -> Cli.DOCUMENT_ERRORS).code());
    }

    @Test
    void aFailureIsOneLineNamingTheApplication() {
        Run r = failing(new ModelFormatException("model directory not found: /m"));
        assertEquals(List.of("[app] failed: model directory not found: /m"), r.errLines());
        r = failing(new UsageException("unknown option --ouptut; did you mean --output?"));
        assertEquals(List.of("[app] failed: unknown option --ouptut; did you mean --output? (--help lists the options)"),
                r.errLines());
        r = failing(new IllegalStateException("something odd\n\tat a.b.C(C.java:1)"));
        assertEquals(List.of("[app] failed: IllegalStateException: something odd (--verbose prints the stack trace)"),
                r.errLines());
    }

    @Test
    void theCauseDecidesThroughSparksWrappers() {
        // A task failure as Spark reports it: the job-abort message carries the remote stack trace.
        Throwable engine = new IllegalStateException("pre-fill engine unavailable on this executor (GPU 0): "
                + "cuInit failed", new CudaException("cuInit failed: CUDA_ERROR_NO_DEVICE", 100));
        SparkException job = new SparkException("Job aborted due to stage failure: Task 0 in stage 3.0 failed 4 times, "
                + "most recent failure: ...\n\tat org.apache.spark.scheduler.DAGScheduler...", engine);
        Run r = failing(job);
        assertEquals(Cli.CLUSTER, r.code());
        assertEquals(List.of("[app] failed: pre-fill engine unavailable on this executor (GPU 0): cuInit failed"),
                r.errLines());
    }

    @Test
    void verbosePrintsTheStackTrace() {
        Run r = failing(new ModelFormatException("bad model"), "--verbose");
        assertEquals("[app] failed: bad model", r.errLines().get(0));
        assertTrue(r.err().contains("at io.prefill.job.cli.CliTest"), r.err());
    }

    @Test
    void helpPrintsTheTableAndExitsZeroWithoutRunning() {
        Run r = run(JobOptions.TABLE, a -> { throw new AssertionError("must not run"); }, "--help");
        assertEquals(Cli.OK, r.code());
        assertEquals("", r.err());
        for (OptionTable.Option o : JobOptions.TABLE.options()) assertTrue(r.out().contains(o.synopsis()), o.name());
        assertEquals(Cli.OK, run(JobOptions.TABLE, a -> { throw new AssertionError("must not run"); }, "-h").code());
    }

    @Test
    void aMisspelledOptionFailsBeforeTheApplicationRuns() {
        Run r = run(JobOptions.TABLE, a -> { throw new AssertionError("must not run"); },
                "--input", "in", "--model", "m", "--ouptut", "o");
        assertEquals(Cli.USAGE, r.code());
        assertEquals(List.of("[app] failed: unknown option --ouptut; did you mean --output? (--help lists every option)"),
                r.errLines());
    }

    @Test
    void theLogLevelIsSetBeforeTheApplicationRuns() {
        Level[] seen = new Level[1];
        assertEquals(Cli.OK, run(TABLE, a -> {
            seen[0] = LogManager.getRootLogger().getLevel();
            return Cli.OK;
        }, "--log-level", "error").code());
        assertEquals(Level.ERROR, seen[0]);
        assertEquals("ERROR", LogLevels.current());
        assertEquals(Cli.OK, run(TABLE, a -> {
            seen[0] = LogManager.getRootLogger().getLevel();
            return Cli.OK;
        }).code());
        assertEquals(Level.WARN, seen[0]);
        assertEquals(Level.ERROR, LogManager.getLogger(LogLevels.DJL_CUDA_PROBE).getLevel(), "DJL's GPU probe is quiet");
        Run bad = run(TABLE, a -> Cli.OK, "--log-level", "loud");
        assertEquals(Cli.USAGE, bad.code());
        assertTrue(bad.err().contains("--log-level"), bad.err());
    }
}
