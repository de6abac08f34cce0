package io.prefill.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prefill.kv.KvSummaryOptions;
import io.prefill.kv.ModelIdentity;
import io.prefill.model.ModelConfig;
import io.prefill.udf.PrefillUdf.JobCounters;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;

/**
 * {@value #FILE}, written into the output directory when the job completes, for schedulers and
 * people who come back later: what ran (options, model identity, backend, Spark application id),
 * what the output holds (documents, errors by kind, tokens) and how this run went (wall and
 * pre-fill time, throughput). Spark ignores files starting with an underscore when it reads the
 * output, so the Parquet reads as before. A resumed run rewrites it: its output counts cover the
 * whole output, its run counts this run.
 */
final class RunSummary {
    static final String FILE = "_prefill_summary.json";
    /** Bumped when a field changes meaning or goes away; new fields may appear without it. */
    static final int FORMAT = 1;

    private RunSummary() { }

    /** Everything the summary says, as JSON. */
    static ObjectNode json(SparkSession spark, JobOptions o, ModelConfig model, BackendChoice.Decision backend,
                           String patternSource, JobSummary written, JobCounters counters, long plannedDocuments,
                           Instant started, Instant finished) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("format", FORMAT);
        root.put("application", "io.prefill.job.PrefillJob");
        root.put("spark_application_id", spark.sparkContext().applicationId());
        root.put("spark_version", spark.version());
        root.put("started", started.toString());
        root.put("finished", finished.toString());
        root.put("backend", backend.backend());
        root.put("backend_reason", backend.reason());
        ObjectNode m = root.putObject("model");
        m.put("uri", o.model());
        m.put("identity", ModelIdentity.of(o.model(), model));
        m.put("architecture", model.architecture().name().toLowerCase(Locale.ROOT));
        m.put("layers", model.numLayers());
        m.put("heads", model.numHeads());
        m.put("kv_heads", model.numKvHeads());
        m.put("head_dim", model.headDim());
        root.put("patterns", patternSource);
        root.set("options", options(mapper, o));

        ObjectNode out = root.putObject("output");
        out.put("path", o.output());
        if (o.kvOutput() != null) out.put("kv_path", o.kvOutput());
        out.put("documents", written.rows());
        out.put("documents_ok", written.rows() - written.errors());
        out.put("errors", written.errors());
        ObjectNode kinds = out.putObject("errors_by_kind");
        written.errorsByKind().forEach(kinds::put);
        out.put("prefilled_tokens", written.tokens());
        if (written.droppedTokens() >= 0) out.put("dropped_tokens", written.droppedTokens());

        ObjectNode run = root.putObject("run");
        long tokens = counters.tokens().value();
        double writing = written.seconds();
        run.put("documents", plannedDocuments);
        run.put("errors", counters.errors().value());
        run.put("prefilled_tokens", tokens);
        run.put("dropped_tokens", counters.droppedTokens().value());
        run.put("wall_seconds", round(Duration.between(started, finished).toNanos() / 1e9));
        run.put("prefill_wall_seconds", round(writing));
        run.put("prefill_seconds", round(counters.prefillMicros().value() / 1e6));
        run.put("tokens_per_second", round(writing > 0 ? tokens / writing : 0));
        return root;
    }

    /** The job's options by name (snake case); Spark settings are left out, their values may be secrets. */
    static ObjectNode options(ObjectMapper mapper, JobOptions o) {
        ObjectNode n = mapper.createObjectNode();
        for (RecordComponent c : JobOptions.class.getRecordComponents()) {
            Object v;
            try {
                v = c.getAccessor().invoke(o);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read option " + c.getName(), e);
            }
            String name = snake(c.getName());
            if (v == null || v instanceof Map) continue;
            if (v instanceof KvSummaryOptions && !o.mode().writesKv()) continue;
            if (v instanceof Enum<?> e) n.put(name, e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
            else if (v instanceof Boolean b) n.put(name, b);
            else if (v instanceof Integer i) n.put(name, i);
            else if (v instanceof Long l) n.put(name, l);
            else if (v instanceof Record r) n.set(name, mapper.valueToTree(r));
            else n.put(name, v.toString());
        }
        return n;
    }

    /** Writes the summary into the output directory (replacing an earlier one) and returns its path. */
    static String write(SparkSession spark, String outputDir, ObjectNode json) {
        Path file = new Path(outputDir, FILE);
        try {
            FileSystem fs = file.getFileSystem(spark.sparkContext().hadoopConfiguration());
            byte[] bytes = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(json)
                    .concat("\n").getBytes(StandardCharsets.UTF_8);
            try (FSDataOutputStream s = fs.create(file, true)) {
                s.write(bytes);
            }
            return file.toString();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static String snake(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }
}
