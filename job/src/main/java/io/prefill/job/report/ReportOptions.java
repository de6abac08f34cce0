package io.prefill.job.report;

import io.prefill.settings.OptionTable;

import java.nio.file.Path;
import java.util.Map;

/** Command line of {@link ReportMain}, parsed from {@link #TABLE}. */
public record ReportOptions(String input, String patterns, Path reportDir, String master, Map<String, String> sparkConf) {
    public static final OptionTable TABLE = OptionTable.builder(
                    "spark-submit --class io.prefill.job.report.ReportMain job-<version>-spark.jar [options]")
            .required("--input", "PATH", "a first-token output (Parquet, any Hadoop path)")
            .option("--patterns", "FILE", null, "the pattern config it ran with, for the pattern map")
            .option("--report-dir", "DIR", "`report`", "local folder for the PNG charts and index.html")
            .option("--master", "URL", null, "Spark master when not launched by spark-submit (e.g. `local[2]`)")
            .repeatable("--conf", "KEY=VALUE", "a Spark setting")
            .build();

    /** @throws io.prefill.settings.UsageException naming the option when the arguments are wrong */
    public static ReportOptions parse(String[] args) {
        OptionTable.Parsed p = TABLE.parse(args);
        return new ReportOptions(p.required("--input"), p.value("--patterns"), Path.of(p.value("--report-dir", "report")),
                p.value("--master"), Map.copyOf(p.keyValues("--conf")));
    }
}
