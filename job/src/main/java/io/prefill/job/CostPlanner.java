package io.prefill.job;

import io.prefill.engine.CostModel;
import io.prefill.engine.PrefillEngine;
import io.prefill.sparse.PatternConfig;
import io.prefill.udf.EngineCache;
import io.prefill.udf.EngineSpec;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.monotonically_increasing_id;

/**
 * Length-aware partitioning: tokenizes every document once (on the executors), estimates its
 * pre-fill cost from its token count and the pattern config, bin-packs documents into partitions
 * of about equal estimated cost, and moves each row to its partition. Rows gain two columns:
 * estimated_gflops and partition.
 */
final class CostPlanner {
    static final String ROW = "_row";
    static final String COST = "estimated_gflops";
    static final String PARTITION = "partition";

    /**
     * The repartitioned corpus (as rows of schema, and as a Dataset) and the plan it follows;
     * {@link #release} frees the cached read of the corpus once the pre-fill is written.
     */
    record Planned(JavaRDD<Row> rows, StructType schema, Dataset<Row> corpus, BalancedPartitions plan,
                   double totalGflops, long documents, Dataset<Row> cached) {
        void release() {
            cached.unpersist();
        }
    }

    private CostPlanner() { }

    static Planned plan(SparkSession spark, Dataset<Row> corpus, EngineSpec spec, PatternConfig patterns,
                        int partitions) {
        // A stable row key, and the corpus kept so the token pass and the pre-fill read the same rows.
        Dataset<Row> keyed = corpus.withColumn(ROW, monotonically_increasing_id())
                .persist(StorageLevel.MEMORY_AND_DISK());
        spark.sparkContext().setJobDescription("minference pre-fill: counting tokens for cost-balanced partitions");
        List<Row> counts = keyed.select(col(ROW), col(CorpusReader.TEXT), col(CorpusReader.QUESTION)).javaRDD()
                .mapPartitions(rows -> {
                    // Counting tokens needs the tokenizer only: the cpu engine of the same model (memory-mapped,
                    // no weights read), never the cuda one, whose building uploads every weight to a GPU.
                    PrefillEngine engine = EngineCache.get(spec.withBackend("cpu"), -1);
                    ArrayList<Row> out = new ArrayList<>();
                    while (rows.hasNext()) {
                        Row r = rows.next();
                        out.add(RowFactory.create(r.getLong(0), engine.plannedTokens(r.getString(1), r.getString(2))));
                    }
                    return out.iterator();
                }).collect();

        PrefillEngine driverEngine = EngineCache.onDriver(spec);
        CostModel model = new CostModel(driverEngine.model().config(), patterns);
        double[] costs = new double[counts.size()];
        long[] rowIds = new long[counts.size()];
        double total = 0;
        for (int i = 0; i < counts.size(); i++) {
            rowIds[i] = counts.get(i).getLong(0);
            int tokens = counts.get(i).getInt(1);
            // error rows cost next to nothing, but still need a partition
            costs[i] = tokens < 0 ? 0 : model.flops(tokens) / 1e9;
            total += costs[i];
        }
        BalancedPartitions plan = BalancedPartitions.plan(costs, Math.max(1, Math.min(partitions, costs.length)));

        Map<Long, Tuple2<Integer, Double>> placement = new HashMap<>(costs.length * 2);
        for (int i = 0; i < costs.length; i++) placement.put(rowIds[i], new Tuple2<>(plan.partitionOf(i), costs[i]));
        Broadcast<Map<Long, Tuple2<Integer, Double>>> where =
                JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(placement);

        StructType schema = keyed.schema().add(COST, DataTypes.DoubleType, false).add(PARTITION, DataTypes.IntegerType, false);
        int rowIndex = keyed.schema().fieldIndex(ROW);
        JavaRDD<Row> moved = keyed.javaRDD()
                .mapToPair(r -> {
                    Tuple2<Integer, Double> p = where.value().get(r.getLong(rowIndex));
                    Object[] values = new Object[r.size() + 2];
                    for (int i = 0; i < r.size(); i++) values[i] = r.get(i);
                    values[r.size()] = p._2();
                    values[r.size() + 1] = p._1();
                    return new Tuple2<>(p._1(), RowFactory.create(values));
                })
                .partitionBy(new ExactPartitioner(plan.partitions()))
                .values();
        spark.sparkContext().setJobDescription(null);
        return new Planned(moved, schema, spark.createDataFrame(moved, schema), plan, total, costs.length, keyed);
    }

    /** Sends key k to partition k: the plan already decided where each document goes. */
    static final class ExactPartitioner extends Partitioner {
        private final int partitions;

        ExactPartitioner(int partitions) { this.partitions = partitions; }

        @Override
        public int numPartitions() { return partitions; }

        @Override
        public int getPartition(Object key) { return (Integer) key; }

        @Override
        public boolean equals(Object o) { return o instanceof ExactPartitioner e && e.partitions == partitions; }

        @Override
        public int hashCode() { return partitions; }
    }
}
