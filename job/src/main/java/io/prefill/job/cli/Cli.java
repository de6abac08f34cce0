package io.prefill.job.cli;

import io.prefill.cuda.CudaException;
import io.prefill.model.ModelFormatException;
import io.prefill.settings.OptionTable;
import io.prefill.settings.UsageException;
import io.prefill.sparse.PatternConfigException;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The one main wrapper of every application (PrefillJob, PatternSearchJob, ReportMain,
 * GpuSharePlan): {@code --help} prints the option table and exits 0; the log level is set before
 * anything else runs; a failure prints one line, {@code [app] failed: <message>}, the stack trace
 * only with {@code --verbose}, and exits with a code a scheduler can act on:
 * <pre>
 *   0  done (document error rows are part of a complete job)
 *   1  unforeseen failure (a bug, or a failure inside Spark): the message, and --verbose for more
 *   2  usage: an unknown or misspelled option, a missing or malformed value, an unknown
 *      spark.prefill.* setting
 *   3  bad input, model or config: missing input path, output exists, unreadable model, pattern
 *      config that does not fit: fix the input, do not retry as is
 *   4  cluster or GPU: the backend cannot run here (no usable GPU, CUDA library missing): retry
 *      on other nodes or with another backend
 *   5  with --fail-on-document-errors: the job completed and some documents are error rows
 * </pre>
 */
public final class Cli {
    public static final int OK = 0;
    public static final int UNFORESEEN = 1;
    public static final int USAGE = 2;
    public static final int BAD_INPUT = 3;
    public static final int CLUSTER = 4;
    public static final int DOCUMENT_ERRORS = 5;

    /** What an application does with its arguments; returns its exit code (0, or 5 for document errors). */
    @FunctionalInterface
    public interface Body {
        int run(String[] args) throws Exception;
    }

    /**
     * Spark's exceptions, known by name: GpuSharePlan runs with plain {@code java -cp} and no Spark
     * on the class path, and its failures are classified here too.
     */
    static final String SPARK_EXCEPTION = "org.apache.spark.SparkException";
    static final String ANALYSIS_EXCEPTION = "org.apache.spark.sql.AnalysisException";

    private Cli() { }

    /** Whether t is an instance of the named class, without loading that class. */
    static boolean isA(Throwable t, String className) {
        for (Class<?> c = t.getClass(); c != null; c = c.getSuperclass()) if (c.getName().equals(className)) return true;
        return false;
    }

    /** Runs the application and exits the JVM with its code unless that is 0 (callers in the same JVM go on). */
    public static void main(String app, OptionTable table, String[] args, Body body) {
        int code = run(app, table, args, System.out, System.err, body);
        System.out.flush();
        if (code != OK) System.exit(code);
    }

    /** Runs the application; returns its exit code. Never throws. */
    public static int run(String app, OptionTable table, String[] args, PrintStream out, PrintStream err, Body body) {
        boolean verbose = false;
        for (String a : args) verbose |= a.equals(OptionTable.VERBOSE);
        try {
            if (OptionTable.asksForHelp(args)) {
                out.print(table.help());
                return OK;
            }
            OptionTable.Parsed common = table.parse(args);
            LogLevels.apply(common.value(OptionTable.LOG_LEVEL, OptionTable.DEFAULT_LOG_LEVEL));
            return body.run(args);
        } catch (Throwable t) {
            int code = exitCode(t);
            String message = oneLine(t);
            err.println("[" + app + "] failed: " + message
                    + (code == USAGE && message.contains("--") && !message.contains("--help") ? " (--help lists the options)" : "")
                    + (code == UNFORESEEN && !verbose ? " (--verbose prints the stack trace)" : ""));
            if (verbose) t.printStackTrace(err);
            err.flush();
            return code;
        }
    }

    /** The exit code for a failure: the first exception of a known kind along its causes decides. */
    public static int exitCode(Throwable t) {
        Throwable known = known(t);
        return known == null ? UNFORESEEN : codeOf(known);
    }

    /**
     * The failure's message on one line: that of the first exception along the causes that is not
     * one of Spark's job-failure wrappers (whose messages carry remote stack traces).
     */
    public static String oneLine(Throwable t) {
        Throwable shown = shown(t);
        String m = shown.getMessage();
        if (m == null || m.isBlank()) m = shown.getClass().getName();
        else if (exitCode(t) == UNFORESEEN) m = shown.getClass().getSimpleName() + ": " + m;
        int nl = m.indexOf('\n');
        return (nl >= 0 ? m.substring(0, nl) : m).strip();
    }

    private static Throwable known(Throwable t) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable c = t; c != null && seen.put(c, true) == null; c = c.getCause()) {
            if (codeOf(c) != UNFORESEEN) return c;
        }
        return null;
    }

    private static Throwable shown(Throwable t) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable c = t; c != null && seen.put(c, true) == null; c = c.getCause()) {
            if (!isA(c, SPARK_EXCEPTION) && c.getMessage() != null && !c.getMessage().isBlank()) return c;
        }
        return t;
    }

    private static int codeOf(Throwable c) {
        if (c instanceof UsageException) return USAGE;
        if (c instanceof ClusterException || c instanceof CudaException || c instanceof UnsatisfiedLinkError) return CLUSTER;
        if (c instanceof ModelFormatException || c instanceof PatternConfigException || isA(c, ANALYSIS_EXCEPTION)
                || c instanceof IOException || c instanceof UncheckedIOException
                || c instanceof IllegalArgumentException) {
            return BAD_INPUT;
        }
        return UNFORESEEN;
    }
}
