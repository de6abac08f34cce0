package io.prefill.job;

import io.prefill.engine.Backends;
import io.prefill.engine.EngineOptions;
import io.prefill.engine.PromptTemplate;
import io.prefill.model.LoadedModel;
import io.prefill.model.ModelConfig;
import io.prefill.sparse.PatternConfig;
import io.prefill.udf.EngineCache;
import io.prefill.udf.EngineSpec;
import io.prefill.udf.KvSummaryUdf;
import io.prefill.udf.PrefillUdf;
import io.prefill.udf.PrefillUdf.JobCounters;
import io.prefill.job.cli.Cli;
import io.prefill.job.cli.Sessions;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.storage.StorageLevel;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;

/**
 * The spark-submit application: corpus in, one Parquet row per document out (first-token output or
 * an error), pre-filled by the {@code minference_prefill} UDF. Everything that can be checked
 * before the corpus is read (options, model, pattern config) is checked first.
 */
public final class PrefillJob {
    private PrefillJob() { }

    /** spark-submit's entry: exit codes and one-line errors as {@link Cli} describes. */
    public static void main(String[] args) {
        Cli.main("prefill", JobOptions.TABLE, args, PrefillJob::execute);
    }

    /** The application without exiting: parses, runs on a session of its own, returns the exit code. */
    static int execute(String[] args) {
        JobOptions options = JobOptions.parse(args);
        SparkSession spark = Sessions.create("minference-prefill", options.master(), options.sparkConf());
        try {
            JobSummary summary = run(spark, options, System.out);
            if (options.printSummary()) summary.print(System.out);
            return exitCode(summary, options);
        } finally {
            spark.stop();
        }
    }

    /** 0 for a complete job; 5 when --fail-on-document-errors is given and the output has error rows. */
    static int exitCode(JobSummary summary, JobOptions options) {
        return summary.errors() > 0 && options.failOnDocumentErrors() ? Cli.DOCUMENT_ERRORS : Cli.OK;
    }

    /** Runs the whole job on an existing session; returns what was written. */
    public static JobSummary run(SparkSession spark, JobOptions options, PrintStream log) {
        Instant started = Instant.now();
        JobOptions o = checkInput(spark, options);
        InputOutputPaths.check(o, spark.sparkContext().hadoopConfiguration());
        EngineSpec checked = validate(spark, o);
        boolean outputExists = checkOutput(spark, o.output(), o.writeMode());
        if (o.mode() == JobOptions.Mode.BOTH) checkOutput(spark, o.kvOutput(), o.writeMode());
        LoadedModel model = EngineCache.onDriver(checked).model();
        ModelConfig modelConfig = model.config();
        PatternConfig patterns = EngineCache.patternsOf(checked, modelConfig);
        BackendChoice.Decision backend = BackendChoice.decide(spark, o.backend(), modelConfig, model.weightsLabel(),
                patterns);
        log.printf("[prefill] backend %s (%s)%n", backend.backend(), backend.reason());
        EngineSpec spec = checked.withBackend(backend.backend());

        Dataset<Row> corpus = CorpusReader.read(spark, o);
        CorpusIds.check(corpus, o);
        if (o.writeMode() == JobOptions.WriteMode.RESUME && outputExists) {
            // Resuming: documents already committed to the output (with a result or an error) are not redone.
            Dataset<Row> done = ResumableOutput.committedIds(spark, o.output());
            corpus = corpus.join(done, corpus.col(CorpusReader.ID).equalTo(done.col(CorpusReader.ID)), "left_anti");
        }
        int parallelism = spark.sparkContext().defaultParallelism();
        CostPlanner.Planned planned = CostPlanner.plan(spark, corpus, spec, patterns, Waves.partitions(o, parallelism));
        int waveSize = Waves.size(o, planned.plan().partitions(), parallelism);
        log.printf(Locale.ROOT, "[prefill] %d documents, %s estimated, in %d cost-balanced partitions (%s)%n",
                planned.documents(), flops(planned.totalGflops()), planned.plan().partitions(),
                planned.plan().balance());

        JobCounters counters = JobCounters.create(spark);
        ProgressListener progress = new ProgressListener(counters, planned.plan(), log);
        spark.sparkContext().addSparkListener(progress);
        long start = System.nanoTime();
        try {
            spark.sparkContext().setJobDescription("minference pre-fill (" + spec.backend() + ", " + o.mode() + ") of "
                    + planned.documents() + " documents from " + o.input() + " -> " + o.output());
            SaveMode mode = switch (o.writeMode()) {
                case OVERWRITE -> SaveMode.Overwrite;
                case RESUME -> SaveMode.Append;
                default -> SaveMode.ErrorIfExists;
            };
            Waves.write(spark, planned, waveSize, mode, log, waveWriter(spark, spec, o, counters));
        } finally {
            spark.sparkContext().removeSparkListener(progress);
            spark.sparkContext().setJobDescription(null);
            planned.release();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        spark.sparkContext().setJobDescription("reading back " + o.output());
        JobSummary summary;
        if (o.mode() == JobOptions.Mode.KV_SUMMARY) {
            summary = KvOutput.summary(spark, o.output(), seconds);
        } else {
            summary = JobSummary.read(spark, o.output(), seconds);
        }
        if (o.mode().writesKv()) KvOutput.logLine(spark, o.mode() == JobOptions.Mode.BOTH ? o.kvOutput() : o.output(), log);
        spark.sparkContext().setJobDescription(null);
        String summaryFile = RunSummary.write(spark, o.output(), RunSummary.json(spark, o, modelConfig, backend,
                spec.patternSource(), summary, counters, planned.documents(), started, Instant.now()));
        log.println("[prefill] run summary: " + summaryFile);
        return summary;
    }

    /** What one wave writes: its first-token rows, its KV rows, or both from one pre-fill per document. */
    private static Waves.Writer waveWriter(SparkSession spark, EngineSpec spec, JobOptions o, JobCounters counters) {
        if (o.mode() == JobOptions.Mode.FIRST_TOKEN) {
            UserDefinedFunction prefill = PrefillUdf.register(spark, spec, counters);
            return (wave, how) -> how.writer(wave
                    .select(col(CorpusReader.ID), prefill.apply(col(CorpusReader.TEXT), col(CorpusReader.QUESTION)).as("r"),
                            col(CostPlanner.COST), col(CostPlanner.PARTITION), col(CorpusReader.INPUT_ERROR))
                    .select(col(CorpusReader.ID), InputErrors.firstToken(col("r")).as("r"), col(CostPlanner.COST),
                            col(CostPlanner.PARTITION))
                    .select(col(CorpusReader.ID), col("r.*"), col(CostPlanner.COST), col(CostPlanner.PARTITION)))
                    .parquet(o.output());
        }
        UserDefinedFunction prefill = KvSummaryUdf.register(spark, spec, o.kvSummary(), counters);
        return (wave, how) -> {
            Dataset<Row> prefilled = wave
                    .select(col(CorpusReader.ID), prefill.apply(col(CorpusReader.TEXT), col(CorpusReader.QUESTION)).as("r"),
                            col(CostPlanner.COST), col(CostPlanner.PARTITION), col(CorpusReader.INPUT_ERROR))
                    .select(col(CorpusReader.ID), InputErrors.withKv(col("r")).as("r"), col(CostPlanner.COST),
                            col(CostPlanner.PARTITION));
            Dataset<Row> kvRows = KvOutput.rows(prefilled, "r");
            if (o.mode() == JobOptions.Mode.KV_SUMMARY) {
                how.writer(kvRows).parquet(o.output());
                return;
            }
            // One pre-fill feeds both outputs: the first write fills the disk cache, the second
            // reads it. Only a lost cache block would pre-fill its documents again.
            prefilled.persist(StorageLevel.DISK_ONLY());
            try {
                how.writer(prefilled.select(col(CorpusReader.ID), col("r.first.*"), col(CostPlanner.COST),
                        col(CostPlanner.PARTITION))).parquet(o.output());
                how.writer(kvRows).parquet(o.kvOutput());
            } finally {
                prefilled.unpersist();
            }
        };
    }

    static String flops(double gflops) {
        if (gflops >= 1e6) return String.format("%.1f PFLOP", gflops / 1e6);
        if (gflops >= 1e3) return String.format("%.1f TFLOP", gflops / 1e3);
        return String.format("%.1f GFLOP", gflops);
    }

    /** The input must exist; its format, when neither the option nor the extension named it, is read from the path. */
    static JobOptions checkInput(SparkSession spark, JobOptions o) {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        InputPaths.checkExists(hadoop, o.input());
        return o.inputFormat() != null ? o : o.withInputFormat(InputPaths.recognise(hadoop, o.input()));
    }

    /**
     * Loads the model and pattern config on the driver so that a bad one fails before any work; the
     * spec is on the cpu backend until {@link BackendChoice} decides.
     */
    static EngineSpec validate(SparkSession spark, JobOptions o) {
        PatternConfig patterns;
        String source;
        if (o.patterns() != null) {
            patterns = PatternConfig.read(Path.of(o.patterns()));
            source = o.patterns();
        } else {
            patterns = null;
            source = "default vertical-slash(1000, 6096)";
        }
        EngineOptions engineOptions = new EngineOptions(o.topK(), o.maxTokens(), o.lengthPolicy(),
                PromptTemplate.of(o.template()), o.minSparseLength(), o.addSpecialTokens(), o.allowBeyondMaxPositions(),
                o.minKeptMass());
        if (engineOptions.template().usesQuestion() && o.question() == null && o.questionColumn() == null) {
            throw new IllegalArgumentException("the prompt template uses {question}: give --question or --question-column");
        }
        EngineSpec spec = new EngineSpec(o.model(), patterns, source, Backends.CPU, engineOptions, o.weights());
        // Opens and checks the model here (on the cpu backend: the driver needs no GPU); in local mode
        // the executors share this JVM and reuse it.
        EngineCache.onDriver(spec);
        return spec;
    }

    /** Whether the output exists; under write mode error, that is a failure before any work. */
    private static boolean checkOutput(SparkSession spark, String output, JobOptions.WriteMode writeMode) {
        try {
            org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
            FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
            boolean exists = fs.exists(out);
            if (exists && writeMode == JobOptions.WriteMode.ERROR) {
                throw new IllegalArgumentException("output " + output + " already exists; use --write-mode overwrite"
                        + " (start over) or --write-mode resume (skip documents already there), or choose another path");
            }
            return exists;
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot check output path " + output + ": " + e.getMessage(), e);
        }
    }
}
