package io.prefill.job;

import io.prefill.cuda.forward.MemoryPlan;
import io.prefill.kv.KvSummary;
import io.prefill.kv.KvSummaryOptions;
import io.prefill.kv.KvSummaryReader;
import io.prefill.model.Architecture;
import io.prefill.model.DType;
import io.prefill.model.ModelConfig;
import io.prefill.model.RopeScaling;
import io.prefill.model.TextTokenizer;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.apache.spark.sql.functions.col;

/**
 * The end-to-end deployment check of the job on a GPU node (scripts/gpu-bundle/spark-job.sh): writes
 * its fixtures, then checks the outputs and logs of the jobs the script ran.
 *
 * <pre>
 * DeploymentCheck fixtures DIR [LLAMA3_TOKENIZER_JSON]
 *     DIR/models/tiny64 (a Llama of head_dim 64 the cuda backend runs), DIR/corpus/demo.jsonl (the demo corpus
 *     with its empty and null rows), DIR/corpus/fault.jsonl and fault-budget.txt (a document too long for that
 *     budget between shorter ones), and with the tokenizer DIR/corpus/long.jsonl (8 documents of 32K-128K tokens)
 *     and DIR/corpus/kill.jsonl (8 of 32K)
 * DeploymentCheck check CHECKS_TSV DOCUMENTS_TSV STEP [+ STEP]...
 *   compare RUN CPU_OUT CUDA_OUT CORPUS   same ids, same error rows, argmax agreement, log-probability differences
 *   kv RUN FIRST_OUT KV_OUT MODEL_DIR     --mode both: every KV summary read back and checked against the model
 *   once RUN OUT CORPUS                   every input id exactly once in the output
 *   documents RUN OUT LOG_DIR             per-document pre-fill against time in the task, job wall, weight loads
 *   fault RUN OUT LOG_DIR                 a device_memory row, and the task went on with its next document
 *   kill RUN OUT LOG_DIR                  an executor lost mid-job: its tasks ran again on a new executor
 *   needle RUN OUT CORPUS                 first_token_text against the corpus's answer, per length (the corpus's
 *                                         length column, else the prompt's tokens)
 * </pre>
 * Each check is a line of CHECKS_TSV (run, check, value, verdict: ok, FAIL or info); the exit status is 1
 * when any check failed.
 */
public final class DeploymentCheck {
    /** The cuda backend's head_dim 64 Llama (GQA 2) of the GPU tests, with the demo tokenizer. */
    static final TinyModelSpec TINY64 = new TinyModelSpec(Architecture.LLAMA, 256, 688, 2, 4, 2, 64, 500000.0,
            RopeScaling.NONE, false, DType.BF16, 1 << 20);
    static final int[] DEMO_TOKENS = {1024, 2048, 3072, 4096, 6144};
    /** The fault corpus: the second is too long for the budget written beside it, the others fit. */
    static final int[] FAULT_TOKENS = {2048, 24576, 3072, 1024};
    static final int FAULT_FITS = 8192;
    static final int[] LONG_TOKENS = {32768, 45056, 57344, 69632, 81920, 98304, 114688, 131072};
    static final int[] KILL_TOKENS = {32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768};
    /** Argmax differences are accepted where the reference's best two tokens are this close (nats). */
    static final double NEAR_TIE = 0.1;
    /** Largest accepted difference of the reference token's log-probability between backends (nats). */
    static final double MAX_LOGPROB_DIFF = 0.1;

    /** One line of checks.tsv. */
    record Check(String run, String check, String value, String verdict) {
        String tsv() { return String.join("\t", run, check, value, verdict); }
    }

    /** The columns of an output row the checks use. */
    record OutputRow(String id, int promptTokens, int droppedTokens, Integer firstTokenId, int[] topIds,
                     double[] topLogprobs, Double density, double prefillMs, String errorKind, int partition) {
        boolean ok() { return errorKind == null; }
        int tokens() { return promptTokens - droppedTokens; }
    }

    private DeploymentCheck() { }

    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("fixtures")) {
            fixtures(Path.of(args[1]), args.length > 2 ? Path.of(args[2]) : null);
            return;
        }
        if (args.length < 4 || !args[0].equals("check")) {
            System.err.println("usage: DeploymentCheck fixtures DIR [LLAMA3_TOKENIZER_JSON]\n"
                    + "       DeploymentCheck check CHECKS_TSV DOCUMENTS_TSV STEP [+ STEP]... (see the class comment)");
            System.exit(2);
        }
        Path checksFile = Path.of(args[1]), documentsFile = Path.of(args[2]);
        List<List<String>> steps = new ArrayList<>();
        List<String> current = new ArrayList<>();
        for (String a : Arrays.copyOfRange(args, 3, args.length)) {
            if (a.equals("+")) {
                steps.add(current);
                current = new ArrayList<>();
            } else {
                current.add(a);
            }
        }
        steps.add(current);
        SparkSession spark = SparkSession.builder().master("local[4]").appName("deployment-check")
                .config("spark.ui.enabled", "false").getOrCreate();
        List<Check> checks = new ArrayList<>();
        List<String> documents = new ArrayList<>();
        try {
            for (List<String> step : steps) {
                try {
                    checks.addAll(step(spark, step, documents));
                } catch (Exception e) {  // Spark's AnalysisException (a missing output) is checked, thrown unchecked
                    checks.add(new Check(step.size() > 1 ? step.get(1) : "?", String.join(" ", step.subList(0, Math.min(1, step.size()))),
                            "could not check: " + String.valueOf(e.getMessage()).replace('\t', ' ').replace('\n', ' '), "FAIL"));
                }
            }
        } finally {
            spark.stop();
        }
        append(checksFile, "run\tcheck\tvalue\tverdict", checks.stream().map(Check::tsv).toList());
        append(documentsFile, "run\tid\tpartition\ttokens\tprefill_ms\tin_task_ms\ttask_overhead_pct\tdensity\terror_kind\t"
                + "executor\ttask", documents);
        checks.forEach(c -> System.out.println("[check] " + c.tsv().replace('\t', ' ')));
        long failed = checks.stream().filter(c -> c.verdict().equals("FAIL")).count();
        System.out.printf("[check] %d checks, %d failed%n", checks.size(), failed);
        if (failed > 0) System.exit(1);
    }

    private static List<Check> step(SparkSession spark, List<String> s, List<String> documents) {
        String kind = s.get(0);
        Function<Integer, String> arg = i -> {
            if (i >= s.size()) throw new IllegalArgumentException("step '" + String.join(" ", s) + "' lacks argument " + i);
            return s.get(i);
        };
        return switch (kind) {
            case "compare" -> compare(arg.apply(1), read(spark, arg.apply(2)), read(spark, arg.apply(3)),
                    corpusIds(spark, arg.apply(4)));
            case "kv" -> kv(spark, arg.apply(1), read(spark, arg.apply(2)), arg.apply(3),
                    ModelConfig.read(Path.of(arg.apply(4), "config.json")));
            case "once" -> List.of(exactlyOnce(arg.apply(1), read(spark, arg.apply(2)), corpusIds(spark, arg.apply(3))));
            case "documents" -> documents(arg.apply(1), read(spark, arg.apply(2)),
                    DeploymentLogs.read(Path.of(arg.apply(3))), documents);
            case "fault" -> fault(arg.apply(1), read(spark, arg.apply(2)), DeploymentLogs.read(Path.of(arg.apply(3))));
            case "kill" -> kill(arg.apply(1), DeploymentLogs.read(Path.of(arg.apply(3))));
            case "needle" -> needle(arg.apply(1), needleRows(spark, arg.apply(2), arg.apply(3)));
            default -> throw new IllegalArgumentException("unknown step '" + kind + "'");
        };
    }

    // ---- fixtures ----

    static void fixtures(Path dir, Path llama3Tokenizer) throws IOException {
        Path model = dir.resolve("models/tiny64"), corpus = dir.resolve("corpus");
        Files.createDirectories(corpus);
        TinyModelWriter.write(model, TINY64, 42L);
        ModelConfig config = ModelConfig.read(model.resolve("config.json"));
        try (TextTokenizer tok = TextTokenizer.load(model.resolve("tokenizer.json"))) {
            DemoCorpus.write(corpus.resolve("demo.jsonl"), tok, DEMO_TOKENS, 7L);
            DemoCorpus.write(corpus.resolve("fault.jsonl"), tok, FAULT_TOKENS, 11L);
        }
        long budget = MemoryPlan.of(config, FAULT_FITS, Long.MAX_VALUE, 64).totalBytes();
        Files.writeString(corpus.resolve("fault-budget.txt"), budget + "\n");
        System.out.printf(Locale.ROOT, "[fixtures] %s (head_dim 64), demo and fault corpora in %s; a budget of %d bytes "
                + "holds %d tokens, not %d%n", model, corpus, budget, FAULT_FITS, FAULT_TOKENS[1]);
        if (llama3Tokenizer != null) {
            try (TextTokenizer tok = TextTokenizer.load(llama3Tokenizer)) {
                DemoCorpus.write(corpus.resolve("long.jsonl"), tok, LONG_TOKENS, 13L);
                DemoCorpus.write(corpus.resolve("kill.jsonl"), tok, KILL_TOKENS, 17L);
            }
            System.out.printf(Locale.ROOT, "[fixtures] long corpus (%d documents, %d-%d tokens) and kill corpus (%d of %d)%n",
                    LONG_TOKENS.length, LONG_TOKENS[0], LONG_TOKENS[LONG_TOKENS.length - 1], KILL_TOKENS.length,
                    KILL_TOKENS[0]);
        }
    }

    // ---- checks ----

    static List<Check> compare(String run, List<OutputRow> cpu, List<OutputRow> cuda, List<String> corpus) {
        List<Check> out = new ArrayList<>();
        out.add(exactlyOnce(run + "/cpu", cpu, corpus));
        out.add(exactlyOnce(run + "/cuda", cuda, corpus));
        Map<String, OutputRow> a = byId(cpu), b = byId(cuda);
        Map<String, String> errorsA = new TreeMap<>(), errorsB = new TreeMap<>();
        a.values().stream().filter(r -> !r.ok()).forEach(r -> errorsA.put(r.id(), r.errorKind()));
        b.values().stream().filter(r -> !r.ok()).forEach(r -> errorsB.put(r.id(), r.errorKind()));
        out.add(new Check(run, "same error rows (id: kind)", errorsA.toString(),
                errorsA.equals(errorsB) ? "ok" : "FAIL: cuda has " + errorsB));
        int compared = 0, agree = 0, nearTies = 0;
        double maxDiff = 0, sumDiff = 0, maxDensityDiff = 0, overlap = 0;
        List<String> disagreements = new ArrayList<>();
        for (OutputRow r : a.values()) {
            OutputRow c = b.get(r.id());
            if (c == null || !r.ok() || !c.ok()) continue;
            compared++;
            if (Objects.equals(r.firstTokenId(), c.firstTokenId())) {
                agree++;
            } else if (r.topLogprobs().length > 1 && r.topLogprobs()[0] - r.topLogprobs()[1] <= NEAR_TIE) {
                nearTies++;
            } else {
                disagreements.add(r.id() + ": cpu " + r.firstTokenId() + ", cuda " + c.firstTokenId());
            }
            // the reference token's log-probability on both sides (when it is in the cuda top-k)
            double ref = r.topLogprobs()[0];
            int at = indexOf(c.topIds(), r.topIds()[0]);
            double diff = at < 0 ? Double.POSITIVE_INFINITY : Math.abs(c.topLogprobs()[at] - ref);
            maxDiff = Math.max(maxDiff, diff);
            sumDiff += diff;
            overlap += overlap(r.topIds(), c.topIds());
            if (r.density() != null && c.density() != null) {
                maxDensityDiff = Math.max(maxDensityDiff, Math.abs(r.density() - c.density()));
            }
        }
        out.add(new Check(run, "documents compared (ok on both)", Integer.toString(compared), compared > 0 ? "ok" : "FAIL"));
        out.add(new Check(run, "argmax agreement", String.format(Locale.ROOT, "%d/%d (+%d near ties within %.2f nats)",
                agree, compared, nearTies, NEAR_TIE), disagreements.isEmpty() ? "ok" : "FAIL: " + disagreements));
        out.add(new Check(run, "|logprob cpu - cuda| of the cpu's token, max / mean", String.format(Locale.ROOT,
                "%.4f / %.4f", maxDiff, compared == 0 ? 0 : sumDiff / compared),
                maxDiff <= MAX_LOGPROB_DIFF ? "ok" : "FAIL (over " + MAX_LOGPROB_DIFF + ")"));
        out.add(new Check(run, "top-k overlap, mean", String.format(Locale.ROOT, "%.3f", compared == 0 ? 0 : overlap / compared),
                "info"));
        out.add(new Check(run, "|attention density cpu - cuda|, max", String.format(Locale.ROOT, "%.4f", maxDensityDiff),
                "info"));
        return out;
    }

    static Check exactlyOnce(String run, List<OutputRow> output, List<String> corpus) {
        Map<String, Long> counts = output.stream().collect(Collectors.groupingBy(OutputRow::id, TreeMap::new,
                Collectors.counting()));
        List<String> missing = corpus.stream().filter(id -> !counts.containsKey(id)).toList();
        List<String> repeated = counts.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        List<String> extra = counts.keySet().stream().filter(id -> !corpus.contains(id)).toList();
        boolean ok = missing.isEmpty() && repeated.isEmpty() && extra.isEmpty() && corpus.size() == counts.size();
        return new Check(run, "every input id exactly once", output.size() + " rows for " + corpus.size() + " ids",
                ok ? "ok" : "FAIL: missing " + missing + ", repeated " + repeated + ", unknown " + extra);
    }

    private static List<Check> kv(SparkSession spark, String run, List<OutputRow> first, String kvPath, ModelConfig model) {
        List<Check> out = new ArrayList<>();
        List<Row> rows = spark.read().parquet(kvPath).select(col("id"), col("layer"), col("error_kind")).collectAsList();
        Map<String, List<Row>> byId = rows.stream().collect(Collectors.groupingBy(r -> r.getString(0)));
        out.add(new Check(run, "KV output: documents", byId.size() + " of " + first.size(),
                byId.keySet().equals(byId(first).keySet()) ? "ok" : "FAIL: ids differ from the first-token output"));
        KvSummaryOptions defaults = KvSummaryOptions.defaults();
        int keepAtMost = defaults.sinkTokens() + defaults.topK() + defaults.window();
        List<String> problems = new ArrayList<>();
        int read = 0;
        for (OutputRow r : first) {
            List<Row> kvRows = byId.getOrDefault(r.id(), List.of());
            if (!r.ok()) {
                boolean errorRow = kvRows.size() == 1 && kvRows.get(0).isNullAt(1) && !kvRows.get(0).isNullAt(2);
                if (!errorRow) problems.add(r.id() + ": an error document needs one KV error row");
                continue;
            }
            KvSummary s = KvSummaryReader.read(spark, kvPath, r.id());
            read++;
            int expectKept = Math.min(r.tokens(), keepAtMost);
            if (s.numLayers() != model.numLayers() || s.numKvHeads() != model.numKvHeads() || s.headDim() != model.headDim()) {
                problems.add(r.id() + ": " + s.numLayers() + " layers x " + s.numKvHeads() + " KV heads x head_dim "
                        + s.headDim());
            }
            if (s.promptTokens() != r.tokens()) problems.add(r.id() + ": prompt tokens " + s.promptTokens() + " != " + r.tokens());
            for (int l = 0; l < s.numLayers(); l++) {
                for (int h = 0; h < s.numKvHeads(); h++) {
                    if (s.head(l, h).kept() != expectKept) {
                        problems.add(r.id() + ": layer " + l + " head " + h + " keeps " + s.head(l, h).kept()
                                + ", expected " + expectKept);
                    }
                }
            }
        }
        out.add(new Check(run, "KV summaries read back (layers, heads, head_dim, positions kept)", read + " documents",
                problems.isEmpty() && read > 0 ? "ok" : "FAIL: " + problems.stream().limit(5).toList()));
        return out;
    }

    static List<Check> documents(String run, List<OutputRow> output, DeploymentLogs logs, List<String> tsv) {
        List<Check> out = new ArrayList<>();
        Map<String, DeploymentLogs.Doc> matched = match(output, logs);
        double sumPrefill = 0, sumMatchedPrefill = 0, sumInTask = 0;
        for (OutputRow r : output.stream().sorted((x, y) -> x.id().compareTo(y.id())).toList()) {
            DeploymentLogs.Doc d = matched.get(r.id());
            sumPrefill += r.prefillMs();
            if (d != null) {
                sumInTask += d.inTaskMs();
                sumMatchedPrefill += r.prefillMs();
            }
            tsv.add(String.join("\t", run, r.id(), Integer.toString(r.partition()), Integer.toString(r.tokens()),
                    f1(r.prefillMs()), d == null ? "" : f1(d.inTaskMs()),
                    d == null || d.inTaskMs() == 0 ? "" : f1(100 * (d.inTaskMs() - r.prefillMs()) / d.inTaskMs()),
                    r.density() == null ? "" : String.format(Locale.ROOT, "%.4f", r.density()),
                    r.errorKind() == null ? "" : r.errorKind(), d == null ? "" : d.task().executor(),
                    d == null ? "" : Long.toString(d.task().taskId())));
        }
        out.add(new Check(run, "documents matched to their task-log line", matched.size() + " of " + output.size(),
                matched.size() == output.size() ? "ok" : "info"));
        out.add(new Check(run, "matched documents: sum of prefill_ms / sum of time in the task (s)",
                String.format(Locale.ROOT, "%.1f / %.1f (%.1f%% outside the pre-fill)", sumMatchedPrefill / 1e3,
                        sumInTask / 1e3, sumInTask == 0 ? 0 : 100 * (sumInTask - sumMatchedPrefill) / sumInTask), "info"));
        double taskWall = logs.ends().stream().filter(DeploymentLogs.TaskEnd::succeeded).mapToDouble(DeploymentLogs.TaskEnd::wallMs).sum();
        out.add(new Check(run, "succeeded tasks: sum of their wall from first document to end (s)",
                String.format(Locale.ROOT, "%.1f over %d tasks", taskWall / 1e3,
                        logs.ends().stream().filter(DeploymentLogs.TaskEnd::succeeded).count()), "info"));
        for (DeploymentLogs.JobWall j : logs.jobs()) {
            out.add(new Check(run, "job wall (pre-fill and write) vs sum of prefill_ms", String.format(Locale.ROOT,
                    "%.1f s vs %.1f s: %.1f%% outside the pre-fill", j.seconds(), sumPrefill / 1e3,
                    100 * (j.seconds() - sumPrefill / 1e3) / j.seconds()), "info"));
        }
        double builds = 0;
        for (DeploymentLogs.TaskStart s : logs.starts()) {
            if (s.built()) {
                builds += s.buildSeconds();
                out.add(new Check(run, "engine built (first use) by task " + s.task().taskId() + " on executor "
                        + s.task().executor(), String.format(Locale.ROOT, "%.2f s; %s", s.buildSeconds(), s.where()), "info"));
            }
        }
        long reused = logs.starts().stream().filter(s -> !s.built()).count();
        out.add(new Check(run, "tasks that reused the executor's engine (no load)", reused + " of " + logs.starts().size(),
                "info"));
        for (DeploymentLogs.JobWall j : logs.jobs()) {
            if (builds > 0) {
                out.add(new Check(run, "job wall less engine builds vs sum of prefill_ms", String.format(Locale.ROOT,
                        "%.1f s vs %.1f s: %.1f%% outside the pre-fill", j.seconds() - builds, sumPrefill / 1e3,
                        100 * (j.seconds() - builds - sumPrefill / 1e3) / (j.seconds() - builds)), "info"));
            }
        }
        for (DeploymentLogs.WeightLoad l : logs.loads()) {
            out.add(new Check(run, "weights disk to GPU (" + l.device() + ")", String.format(Locale.ROOT,
                    "%.2f GiB in %.2f s: %.2f GB/s", l.gib(), l.seconds(), l.gbPerSecond()), "info"));
        }
        return out;
    }

    static List<Check> fault(String run, List<OutputRow> output, DeploymentLogs logs) {
        List<Check> out = new ArrayList<>();
        List<OutputRow> memory = output.stream().filter(r -> "device_memory".equals(r.errorKind())).toList();
        out.add(new Check(run, "device_memory error rows", memory.stream().map(r -> r.id() + " (" + r.tokens() + " tokens)")
                .toList().toString(), memory.size() == 1 ? "ok" : "FAIL: expected exactly one"));
        // the corpus's rows without text are empty_text rows by design; every other document must pre-fill
        List<OutputRow> others = output.stream().filter(r -> !"device_memory".equals(r.errorKind())
                && !"empty_text".equals(r.errorKind())).toList();
        long ok = others.stream().filter(OutputRow::ok).count();
        out.add(new Check(run, "other documents with text pre-filled", ok + " of " + others.size(),
                ok == others.size() && ok > 0 ? "ok" : "FAIL"));
        // in the task log: after the device_memory document, the same task attempt pre-filled another one
        boolean wentOn = false;
        for (int i = 0; i < logs.docs().size(); i++) {
            DeploymentLogs.Doc d = logs.docs().get(i);
            if (!d.outcome().equals("device_memory")) continue;
            for (int j = i + 1; j < logs.docs().size(); j++) {
                if (logs.docs().get(j).task().equals(d.task()) && logs.docs().get(j).ok()) wentOn = true;
            }
        }
        out.add(new Check(run, "the same task went on after the device_memory document (task log)", Boolean.toString(wentOn),
                wentOn ? "ok" : "FAIL"));
        long builds = logs.starts().stream().filter(DeploymentLogs.TaskStart::built).count();
        out.add(new Check(run, "engines built", Long.toString(builds), builds == 1 ? "ok" : "FAIL: the engine was rebuilt"));
        return out;
    }

    static List<Check> kill(String run, DeploymentLogs logs) {
        List<Check> out = new ArrayList<>();
        long executors = logs.starts().stream().map(s -> s.task().executor()).distinct().count();
        out.add(new Check(run, "executors that ran pre-fill tasks", Long.toString(executors),
                executors >= 2 ? "ok" : "FAIL: no second executor ran tasks"));
        out.add(new Check(run, "task failures from the lost executor (driver log)", Integer.toString(logs.executorLostFailures()),
                logs.executorLostFailures() >= 1 ? "ok" : "FAIL: no ExecutorLostFailure in the driver log"));
        // by stage and partition: a job written in waves runs one stage per wave, each from partition 0
        Map<String, Long> attemptsByPartition = logs.starts().stream().collect(Collectors.groupingBy(
                s -> s.task().stage() + "." + s.task().partition(), TreeMap::new, Collectors.counting()));
        long rerun = attemptsByPartition.values().stream().filter(n -> n > 1).count();
        out.add(new Check(run, "partitions whose pre-fill started more than once", rerun + " " + attemptsByPartition,
                rerun >= 1 ? "ok" : "FAIL"));
        for (DeploymentLogs.TaskStart s : logs.starts()) {
            if (s.built()) {
                out.add(new Check(run, "engine built by task " + s.task().taskId() + " on executor " + s.task().executor(),
                        String.format(Locale.ROOT, "%.2f s", s.buildSeconds()), "info"));
            }
        }
        return out;
    }

    /** One needle document: its length bucket, the expected answer and what the job wrote. */
    record NeedleRow(String id, int length, String answer, String firstTokenText, String errorKind, Double density) { }

    /** Accuracy (first_token_text equal to the answer) and mean attention density per length, and over all lengths. */
    static List<Check> needle(String run, List<NeedleRow> rows) {
        List<Check> out = new ArrayList<>();
        Map<Integer, List<NeedleRow>> byLength = rows.stream().collect(Collectors.groupingBy(NeedleRow::length,
                TreeMap::new, Collectors.toList()));
        int correct = 0, scored = 0;
        for (Map.Entry<Integer, List<NeedleRow>> e : byLength.entrySet()) {
            List<NeedleRow> scoredRows = e.getValue().stream().filter(r -> r.answer() != null).toList();
            long ok = scoredRows.stream().filter(r -> r.answer().equals(r.firstTokenText())).count();
            long trimmed = scoredRows.stream().filter(r -> r.firstTokenText() != null
                    && r.answer().strip().equals(r.firstTokenText().strip())).count();
            long errors = e.getValue().stream().filter(r -> r.errorKind() != null).count();
            correct += (int) ok;
            scored += scoredRows.size();
            double density = e.getValue().stream().filter(r -> r.density() != null).mapToDouble(NeedleRow::density)
                    .average().orElse(Double.NaN);
            out.add(new Check(run, "needle accuracy at length " + e.getKey(), String.format(Locale.ROOT,
                    "%d/%d = %.3f (%d equal without surrounding spaces; %d error rows; attention density %.3f)", ok,
                    scoredRows.size(), scoredRows.isEmpty() ? 0 : ok / (double) scoredRows.size(), trimmed, errors,
                    density), "info"));
        }
        out.add(new Check(run, "needle accuracy, all lengths", String.format(Locale.ROOT, "%d/%d = %.3f", correct, scored,
                scored == 0 ? 0 : correct / (double) scored), scored > 0 ? "info" : "FAIL: no document with an answer"));
        return out;
    }

    private static List<NeedleRow> needleRows(SparkSession spark, String outputPath, String corpusPath) {
        org.apache.spark.sql.Dataset<Row> corpus = spark.read().json(corpusPath);
        List<String> columns = Arrays.asList(corpus.columns());
        if (!columns.contains("answer")) throw new IllegalArgumentException(corpusPath + " has no answer column");
        Map<String, Row> expected = new HashMap<>();
        for (Row r : corpus.select(col("id"), col("answer"),
                columns.contains("length") ? col("length").cast("int") : org.apache.spark.sql.functions.lit(null).cast("int"))
                .collectAsList()) {
            expected.put(r.getString(0), r);
        }
        List<NeedleRow> rows = new ArrayList<>();
        for (Row r : spark.read().parquet(outputPath).select(col("id"), col("prompt_tokens"), col("first_token_text"),
                col("error_kind"), col("attention_density")).collectAsList()) {
            Row e = expected.get(r.getString(0));
            int length = e != null && !e.isNullAt(2) ? e.getInt(2) : r.getInt(1);
            rows.add(new NeedleRow(r.getString(0), length, e == null || e.isNullAt(1) ? null : e.getString(1),
                    r.isNullAt(2) ? null : r.getString(2), r.isNullAt(3) ? null : r.getString(3),
                    r.isNullAt(4) ? null : r.getDouble(4)));
        }
        return rows;
    }

    // ---- helpers ----

    /**
     * Output rows matched to their [prefill-doc] lines by token count (the lines name no document; the
     * output's partition is the job's, the line's the wave stage's), lines of succeeded attempts only,
     * the latest first.
     */
    static Map<String, DeploymentLogs.Doc> match(List<OutputRow> output, DeploymentLogs logs) {
        Map<String, List<DeploymentLogs.Doc>> pool = new HashMap<>();
        // the last attempt that succeeded wrote the output; prefer lines of succeeded attempts, latest first
        java.util.Set<DeploymentLogs.Task> succeeded = logs.ends().stream().filter(DeploymentLogs.TaskEnd::succeeded)
                .map(DeploymentLogs.TaskEnd::task).collect(Collectors.toSet());
        for (DeploymentLogs.Doc d : logs.docs()) {
            if (!succeeded.isEmpty() && !succeeded.contains(d.task())) continue;
            pool.computeIfAbsent(Integer.toString(d.tokens()), k -> new ArrayList<>()).add(d);
        }
        Map<String, DeploymentLogs.Doc> out = new LinkedHashMap<>();
        for (OutputRow r : output) {
            List<DeploymentLogs.Doc> candidates = pool.get(Integer.toString(r.tokens()));
            if (candidates != null && !candidates.isEmpty()) out.put(r.id(), candidates.remove(candidates.size() - 1));
        }
        return out;
    }

    static List<OutputRow> read(SparkSession spark, String path) {
        return spark.read().parquet(path).select(col("id"), col("prompt_tokens"), col("dropped_tokens"),
                        col("first_token_id"), col("top_ids"), col("top_logprobs"), col("attention_density"),
                        col("prefill_ms"), col("error_kind"), col("partition"))
                .collectAsList().stream().map(DeploymentCheck::row).toList();
    }

    private static OutputRow row(Row r) {
        List<Integer> ids = r.isNullAt(4) ? List.of() : r.getList(4);
        List<Double> lps = r.isNullAt(5) ? List.of() : r.getList(5);
        return new OutputRow(r.getString(0), r.getInt(1), r.getInt(2), r.isNullAt(3) ? null : r.getInt(3),
                ids.stream().mapToInt(Integer::intValue).toArray(), lps.stream().mapToDouble(Double::doubleValue).toArray(),
                r.isNullAt(6) ? null : r.getDouble(6), r.getDouble(7), r.isNullAt(8) ? null : r.getString(8),
                r.isNullAt(9) ? -1 : r.getInt(9));
    }

    private static List<String> corpusIds(SparkSession spark, String corpus) {
        return spark.read().json(corpus).select(col("id")).collectAsList().stream().map(r -> r.getString(0)).toList();
    }

    private static Map<String, OutputRow> byId(List<OutputRow> rows) {
        Map<String, OutputRow> m = new TreeMap<>();
        for (OutputRow r : rows) m.putIfAbsent(r.id(), r);
        return m;
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }

    private static double overlap(int[] a, int[] b) {
        if (a.length == 0) return 0;
        long shared = Arrays.stream(a).filter(v -> indexOf(b, v) >= 0).count();
        return shared / (double) a.length;
    }

    private static String f1(double v) { return String.format(Locale.ROOT, "%.1f", v); }

    private static void append(Path file, String header, List<String> lines) {
        try {
            if (file.getParent() != null) Files.createDirectories(file.getParent());
            List<String> all = new ArrayList<>();
            if (!Files.exists(file) || Files.size(file) == 0) all.add(header);
            all.addAll(lines);
            Files.write(file, all, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
