package io.prefill.job.report;

import io.prefill.sparse.PatternConfig;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A pattern config as one row per layer and head. The report's heat map draws it; the pattern
 * notebook calls {@link #register} so that its SQL paragraphs see the same rows as a view.
 */
public final class PatternMap {
    /** The view {@link #register} creates. */
    public static final String VIEW = "pattern_map";
    public static final StructType SCHEMA = new StructType()
            .add("layer", DataTypes.IntegerType, false)
            .add("head", DataTypes.IntegerType, false)
            .add("pattern", DataTypes.StringType, false)
            .add("budget", DataTypes.StringType, false)
            .add("min_sparse_length", DataTypes.IntegerType, false);

    private PatternMap() { }

    public static List<PatternCell> cells(PatternConfig config) {
        List<PatternCell> cells = new ArrayList<>(config.numLayers() * config.numHeads());
        for (int l = 0; l < config.numLayers(); l++) {
            for (int h = 0; h < config.numHeads(); h++) cells.add(PatternCell.of(l, h, config.pattern(l, h)));
        }
        return cells;
    }

    public static Dataset<Row> toDataFrame(SparkSession spark, PatternConfig config) {
        List<Row> rows = new ArrayList<>();
        for (PatternCell c : cells(config)) {
            rows.add(RowFactory.create(c.layer(), c.head(), c.kind().configName(), c.budget(), config.minSparseLength()));
        }
        return spark.createDataFrame(rows, SCHEMA);
    }

    /**
     * Reads a pattern config file (ours or MInference's format, a local path on the driver) and
     * registers it as the temporary view {@value #VIEW}.
     */
    public static Dataset<Row> register(SparkSession spark, String configFile) {
        Dataset<Row> map = toDataFrame(spark, PatternConfig.read(Path.of(configFile)));
        map.createOrReplaceTempView(VIEW);
        return map;
    }
}
