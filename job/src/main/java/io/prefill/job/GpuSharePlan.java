package io.prefill.job;

import io.prefill.job.cli.Cli;
import io.prefill.settings.OptionTable;
import io.prefill.settings.PrefillSettings;
import io.prefill.settings.UsageException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Splits one GPU between the RAPIDS Accelerator (Parquet scan/write and SQL around the UDF) and
 * the pre-fill engine, and prints the Spark settings that enforce the split.
 *
 * <p>The arithmetic: RAPIDS caps its memory pool at maxAllocFraction x card, and takes its reserve
 * (for cuDF's own context and scratch) out of that cap. The engine gets an explicit budget. With a
 * fixed overhead for the engine's CUDA context and kernels:
 * <pre>  maxAllocFraction x card + engine budget + engine context &lt;= card</pre>
 * so maxAllocFraction = floor((card - budget - context) / card, 2 decimals). RAPIDS also grows its
 * pool from allocFraction, which we set equal to the cap so it never asks for more later.
 */
public record GpuSharePlan(double cardGiB, double engineBudgetGiB, double rapidsReserveGiB, double allocFraction) {
    /** The engine's CUDA context, module and stream memory, outside its budget. */
    public static final double ENGINE_CONTEXT_GIB = 1.0;
    /** RAPIDS' own default reserve (640 MiB). */
    public static final double DEFAULT_RAPIDS_RESERVE_GIB = 0.625;
    /** Below this, RAPIDS would spill constantly: better to run it off the GPU. */
    public static final double MIN_RAPIDS_FRACTION = 0.05;

    public static final String PLUGIN_CLASS = "com.nvidia.spark.SQLPlugin";
    public static final String ENGINE_BUDGET_CONF = PrefillSettings.GPU_MEMORY_BUDGET.key();

    public static GpuSharePlan of(double cardGiB, double engineBudgetGiB) {
        return of(cardGiB, engineBudgetGiB, DEFAULT_RAPIDS_RESERVE_GIB);
    }

    public static GpuSharePlan of(double cardGiB, double engineBudgetGiB, double rapidsReserveGiB) {
        if (cardGiB <= 0 || engineBudgetGiB <= 0 || rapidsReserveGiB < 0) {
            throw new IllegalArgumentException("card memory and engine budget must be positive, reserve non-negative");
        }
        double fraction = Math.floor((cardGiB - engineBudgetGiB - ENGINE_CONTEXT_GIB) / cardGiB * 100) / 100;
        if (fraction < MIN_RAPIDS_FRACTION || fraction * cardGiB <= rapidsReserveGiB) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "an engine budget of %.1f GiB on a %.1f GiB card leaves RAPIDS %.2f of the card, less than its "
                            + "reserve or the minimum of %.2f: lower the budget or run without RAPIDS",
                    engineBudgetGiB, cardGiB, Math.max(0, fraction), MIN_RAPIDS_FRACTION));
        }
        return new GpuSharePlan(cardGiB, engineBudgetGiB, rapidsReserveGiB, fraction);
    }

    /** GiB that RAPIDS can hold at most. */
    public double rapidsGiB() { return allocFraction * cardGiB; }

    /** Everything on the card under this plan: must not exceed the card. */
    public double totalGiB() { return rapidsGiB() + engineBudgetGiB + ENGINE_CONTEXT_GIB; }

    public Map<String, String> sparkConf() {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("spark.plugins", PLUGIN_CLASS);
        conf.put("spark.rapids.sql.enabled", "true");
        conf.put("spark.rapids.memory.gpu.allocFraction", fmt(allocFraction));
        conf.put("spark.rapids.memory.gpu.maxAllocFraction", fmt(allocFraction));
        conf.put("spark.rapids.memory.gpu.minAllocFraction", fmt(Math.min(0.25, allocFraction)));
        conf.put("spark.rapids.memory.gpu.reserve", Long.toString(bytes(rapidsReserveGiB)));
        // One RAPIDS task at a time on the card: the pre-fill is the heavy user, SQL around it is light.
        conf.put("spark.rapids.sql.concurrentGpuTasks", "1");
        conf.put(ENGINE_BUDGET_CONF, Long.toString(bytes(engineBudgetGiB)));
        return conf;
    }

    private static long bytes(double gib) { return (long) (gib * (1L << 30)); }

    private static String fmt(double f) { return String.format(Locale.ROOT, "%.2f", f); }

    public static final OptionTable TABLE = OptionTable.builder(
                    "java -cp job-<version>-spark.jar io.prefill.job.GpuSharePlan CARD_GIB ENGINE_BUDGET_GIB")
            .positional("CARD_GIB", "memory of one GPU, GiB")
            .positional("ENGINE_BUDGET_GIB", "the pre-fill engine's share of it, GiB; the rest goes to RAPIDS")
            .build();

    /** Prints --conf lines for spark-submit: {@code GpuSharePlan CARD_GIB ENGINE_BUDGET_GIB}. */
    public static void main(String[] args) {
        Cli.main("gpu-share-plan", TABLE, args, a -> {
            List<String> p = TABLE.parse(a).positionals();
            GpuSharePlan plan = of(gib(TABLE.positionals().get(0).name(), p.get(0)),
                    gib(TABLE.positionals().get(1).name(), p.get(1)));
            plan.sparkConf().forEach((k, v) -> System.out.println("--conf " + k + "=" + v));
            return Cli.OK;
        });
    }

    private static double gib(String name, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new UsageException(name + " expects a number of GiB, got '" + value + "'");
        }
    }
}
