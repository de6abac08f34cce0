package io.prefill.job;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import scala.Function1;
import scala.reflect.ClassTag$;

import java.io.PrintStream;
import java.io.Serializable;

/**
 * The output is written in waves: the cost-balanced partitions, in order, a wave of
 * {@code --wave-partitions} at a time, each wave a Spark write of its own that commits its rows
 * before the next wave starts (the first with the job's save mode, the rest appending). A driver
 * that dies loses the wave in flight and nothing before it: {@code --write-mode resume} finds the
 * committed waves' documents and redoes only the rest. A wave of Spark's default parallelism keeps
 * every task slot busy; by default a job has {@value #WAVES_BY_DEFAULT} waves, so a crash costs at
 * most about a quarter of the job.
 */
final class Waves {
    /** --wave-partitions not given: waves of Spark's default parallelism. */
    static final int DEFAULT = -1;
    /** Waves in a job whose --partitions is not given. */
    static final int WAVES_BY_DEFAULT = 4;
    /** Local property of a wave's Spark jobs: the first partition of the wave (for progress lines). */
    static final String FIRST_PARTITION = "prefill.wave.firstPartition";

    private Waves() { }

    /** Partitions per wave (0 in the options: every partition in one wave). */
    static int size(JobOptions o, int partitions, int defaultParallelism) {
        int size = o.wavePartitions() == DEFAULT ? defaultParallelism : o.wavePartitions();
        return size <= 0 ? Math.max(1, partitions) : size;
    }

    /**
     * The partition count to plan: --partitions, else {@value #WAVES_BY_DEFAULT} waves' worth (with
     * --wave-partitions 0, one wave: Spark's default parallelism).
     */
    static int partitions(JobOptions o, int defaultParallelism) {
        if (o.partitions() > 0) return o.partitions();
        if (o.wavePartitions() == 0) return Math.max(1, defaultParallelism);
        int wave = o.wavePartitions() == DEFAULT ? defaultParallelism : o.wavePartitions();
        return WAVES_BY_DEFAULT * Math.max(1, wave);
    }

    /** Writes one wave: the rows of some partitions, through the writer {@code how} makes. */
    interface Writer {
        void write(Dataset<Row> wave, Write how);
    }

    /** Hadoop's file committer writes {@code _SUCCESS} at each job commit unless this is false. */
    static final String SUCCESS_MARKER = "mapreduce.fileoutputcommitter.marksuccessfuljobs";

    /**
     * How a wave writes: the first with the job's save mode, the rest appending; only the last
     * wave leaves {@code _SUCCESS}, so the marker still means that the whole output is there.
     */
    record Write(SaveMode mode, boolean last) {
        DataFrameWriter<Row> writer(Dataset<Row> rows) {
            return rows.write().mode(mode).option(SUCCESS_MARKER, Boolean.toString(last));
        }
    }

    /** Writes every wave of the planned corpus in order; the first with firstMode, then appending. */
    static void write(SparkSession spark, CostPlanner.Planned planned, int waveSize, SaveMode firstMode,
                      PrintStream log, Writer writer) {
        int partitions = planned.plan().partitions();
        int waves = (partitions + waveSize - 1) / waveSize;
        if (waves > 1) {
            log.printf("[prefill] written in %d waves of up to %d partitions, each committed on its own%n", waves, waveSize);
        }
        for (int w = 0; w < waves; w++) {
            int from = w * waveSize;
            int to = Math.min(partitions, from + waveSize);
            spark.sparkContext().setLocalProperty(FIRST_PARTITION, Integer.toString(from));
            try {
                writer.write(partitionsOf(spark, planned, from, to),
                        new Write(w == 0 ? firstMode : SaveMode.Append, w == waves - 1));
            } finally {
                spark.sparkContext().setLocalProperty(FIRST_PARTITION, null);
            }
            if (waves > 1) {
                log.printf("[prefill] wave %d/%d committed (partitions %d-%d of %d)%n", w + 1, waves, from, to - 1,
                        partitions);
            }
        }
    }

    /** The planned rows of partitions [from, to) alone: the other partitions are not even scheduled. */
    static Dataset<Row> partitionsOf(SparkSession spark, CostPlanner.Planned planned, int from, int to) {
        JavaRDD<Row> rows = planned.rows();
        if (from == 0 && to == rows.getNumPartitions()) return spark.createDataFrame(rows, planned.schema());
        PartitionPruningRDD<Row> pruned = PartitionPruningRDD.create(rows.rdd(), new InRange(from, to));
        return spark.createDataFrame(new JavaRDD<>(pruned, ClassTag$.MODULE$.apply(Row.class)), planned.schema());
    }

    /** Partition index in [from, to); serializable, as it travels with the pruned RDD's dependency. */
    private record InRange(int from, int to) implements Function1<Object, Object>, Serializable {
        @Override
        public Object apply(Object index) {
            int i = (Integer) index;
            return i >= from && i < to;
        }
    }
}
