package io.prefill.job.report;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Command line of {@link ReportMain}. */
public record ReportOptions(String input, String patterns, Path reportDir, String master, Map<String, String> sparkConf) {
    static final String USAGE = "usage: ReportMain --input FIRST_TOKENS_PARQUET [--patterns PATTERN_CONFIG] "
            + "[--report-dir DIR (default report)] [--master URL] [--conf KEY=VALUE ...]";

    /** @throws IllegalArgumentException with the usage line when the arguments are wrong */
    public static ReportOptions parse(String[] args) {
        String input = null;
        String patterns = null;
        Path reportDir = Path.of("report");
        String master = null;
        Map<String, String> conf = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (name.equals("--help") || name.equals("-h")) throw new IllegalArgumentException(USAGE);
            if (i + 1 >= args.length) throw new IllegalArgumentException(name + " needs a value\n" + USAGE);
            String value = args[++i];
            switch (name) {
                case "--input" -> input = value;
                case "--patterns" -> patterns = value;
                case "--report-dir" -> reportDir = Path.of(value);
                case "--master" -> master = value;
                case "--conf" -> {
                    int eq = value.indexOf('=');
                    if (eq < 1) throw new IllegalArgumentException("--conf needs KEY=VALUE, got " + value);
                    conf.put(value.substring(0, eq), value.substring(eq + 1));
                }
                default -> throw new IllegalArgumentException("unknown option " + name + "\n" + USAGE);
            }
        }
        if (input == null) throw new IllegalArgumentException("--input is required\n" + USAGE);
        return new ReportOptions(input, patterns, reportDir, master, Map.copyOf(conf));
    }
}
