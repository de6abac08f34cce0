package io.prefill.job.cli;

import io.prefill.settings.PrefillSettings;
import io.prefill.settings.UsageException;
import org.apache.spark.sql.SparkSession;

import java.util.Map;

/** The applications' Spark session: their log level, their settings, every spark.prefill.* key checked. */
public final class Sessions {
    /** Spark's own setting for the log level a SparkContext sets as it starts. */
    static final String SPARK_LOG_LEVEL = "spark.log.level";

    private Sessions() { }

    /**
     * A session (spark-submit's, or a new one on {@code master}) with the given settings and the
     * applications' log level unless the settings name one; an unknown or malformed
     * {@code spark.prefill.*} setting from anywhere (command line, spark-defaults.conf) stops it
     * as a usage error.
     */
    public static SparkSession create(String appName, String master, Map<String, String> conf) {
        SparkSession.Builder builder = SparkSession.builder().appName(appName);
        if (master != null) builder.master(master);
        if (!conf.containsKey(SPARK_LOG_LEVEL)) builder.config(SPARK_LOG_LEVEL, LogLevels.current());
        conf.forEach(builder::config);
        SparkSession spark = builder.getOrCreate();
        try {
            PrefillSettings.checkSparkConf(spark.sparkContext().getConf());
        } catch (IllegalArgumentException e) {
            spark.stop();
            throw new UsageException(e.getMessage(), e);
        }
        return spark;
    }
}
