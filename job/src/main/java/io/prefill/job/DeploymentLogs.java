package io.prefill.job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The job's own log lines from a run's driver and executor logs: the task log ({@code [prefill-task]},
 * {@code [prefill-doc]}, see io.prefill.udf.TaskLog), the cuda backend's weight load and the job summary.
 */
record DeploymentLogs(List<Doc> docs, List<TaskStart> starts, List<TaskEnd> ends, List<WeightLoad> loads,
                      List<JobWall> jobs, int executorLostFailures) {

    /** A task attempt: executor, stage, partition, task attempt id, attempt number. */
    record Task(String executor, int stage, int partition, long taskId, int attempt) { }

    record Doc(Task task, int tokens, double prefillMs, double inTaskMs, String outcome) {
        boolean ok() { return outcome.equals("ok"); }
    }

    /** Where a task ran and how it got its engine (built: seconds; reused: -1). */
    record TaskStart(Task task, String where, boolean built, double buildSeconds) { }

    record TaskEnd(Task task, boolean succeeded, int documents, long tokens, double prefillMs, double wallMs) { }

    record WeightLoad(String device, double gib, double seconds) {
        double gbPerSecond() { return gib * (1L << 30) / 1e9 / seconds; }
    }

    /** The driver's summary: documents written to output, pre-filled (and written) in seconds. */
    record JobWall(String output, long documents, long errors, long tokens, double seconds) { }

    private static final String TASK = "executor (\\S+), stage (\\d+)\\.\\d+, partition (\\d+), task (\\d+) attempt (\\d+)";
    private static final Pattern DOC = Pattern.compile("\\[prefill-doc\\] " + TASK
            + ": (\\d+) tokens, pre-fill ([\\d.]+) ms, in the task ([\\d.]+) ms, (\\S+)");
    private static final Pattern START = Pattern.compile("\\[prefill-task\\] " + TASK + ": (.*); engine (built by this task|"
            + "reused, built by [^;]*) in ([\\d.]+) s");
    private static final Pattern END = Pattern.compile("\\[prefill-task\\] " + TASK + " (succeeded|failed): (\\d+) documents, "
            + "(\\d+) tokens, pre-fill ([\\d.]+) ms of ([\\d.]+) ms");
    private static final Pattern LOAD = Pattern.compile("\\[cuda\\] (.*): ([\\d.]+) GiB of weights loaded in ([\\d.]+) s");
    private static final Pattern JOB = Pattern.compile("(\\d+) documents written to (\\S+) \\((\\d+) errors[^)]*\\), ([\\d,]+) "
            + "tokens pre-filled.*? in ([\\d.]+) s$");

    /** Every log file under dir (recursively), in name order. */
    static DeploymentLogs read(Path dir) {
        List<String> lines = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                    lines.addAll(Files.readAllLines(f, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the logs under " + dir, e);
            }
        }
        return parse(lines);
    }

    static DeploymentLogs parse(List<String> lines) {
        List<Doc> docs = new ArrayList<>();
        List<TaskStart> starts = new ArrayList<>();
        List<TaskEnd> ends = new ArrayList<>();
        List<WeightLoad> loads = new ArrayList<>();
        List<JobWall> jobs = new ArrayList<>();
        int lost = 0;
        for (String line : lines) {
            Matcher m;
            if ((m = DOC.matcher(line)).find()) {
                docs.add(new Doc(task(m), Integer.parseInt(m.group(6)), Double.parseDouble(m.group(7)),
                        Double.parseDouble(m.group(8)), m.group(9)));
            } else if ((m = END.matcher(line)).find()) {
                ends.add(new TaskEnd(task(m), m.group(6).equals("succeeded"), Integer.parseInt(m.group(7)),
                        Long.parseLong(m.group(8)), Double.parseDouble(m.group(9)), Double.parseDouble(m.group(10))));
            } else if ((m = START.matcher(line)).find()) {
                boolean built = m.group(7).equals("built by this task");
                starts.add(new TaskStart(task(m), m.group(6), built, Double.parseDouble(m.group(8))));
            } else if ((m = LOAD.matcher(line)).find()) {
                loads.add(new WeightLoad(m.group(1), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3))));
            } else if ((m = JOB.matcher(line)).find()) {
                jobs.add(new JobWall(m.group(2), Long.parseLong(m.group(1)), Long.parseLong(m.group(3)),
                        Long.parseLong(m.group(4).replace(",", "")), Double.parseDouble(m.group(5))));
            }
            if (line.contains("ExecutorLostFailure")) lost++;
        }
        return new DeploymentLogs(docs, starts, ends, loads, jobs, lost);
    }

    private static Task task(Matcher m) {
        return new Task(m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), Long.parseLong(m.group(4)),
                Integer.parseInt(m.group(5)));
    }
}
