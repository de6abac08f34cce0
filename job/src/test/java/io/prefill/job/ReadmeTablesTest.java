package io.prefill.job;

import io.prefill.job.report.ReportOptions;
import io.prefill.job.search.SearchJobOptions;
import io.prefill.settings.OptionTable;
import io.prefill.settings.PrefillSettings;
import io.prefill.settings.Setting;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The settings and options tables of the README (and of docs/) are generated from the registries
 * (PrefillSettings, each application's OptionTable): between the markers
 * {@code <!-- BEGIN GENERATED name -->} and {@code <!-- END GENERATED name -->} the text must equal
 * the generated table. {@code -Dreadme.update=true} rewrites the marked sections instead.
 */
class ReadmeTablesTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern SECTION = Pattern.compile(
            "(<!-- BEGIN GENERATED ([a-z-]+)[^>]*-->\\n)(.*?)(<!-- END GENERATED \\2 -->)", Pattern.DOTALL);

    /** Every generated table by marker name; those in REQUIRED must appear somewhere. */
    static final Map<String, Supplier<String>> TABLES = new LinkedHashMap<>();
    static final Set<String> REQUIRED = Set.of("job-options", "job-kv-options", "search-options", "spark-settings",
            "jvm-properties");

    static {
        TABLES.put("job-options", () -> JobOptions.TABLE.markdown(o -> !o.name().startsWith("--kv-")));
        TABLES.put("job-kv-options", () -> JobOptions.TABLE.markdown(o -> o.name().startsWith("--kv-")));
        TABLES.put("search-options", () -> SearchJobOptions.TABLE.markdown(o -> !common(o)));
        TABLES.put("report-options", () -> ReportOptions.TABLE.markdown(o -> !common(o)));
        TABLES.put("spark-settings", () -> PrefillSettings.markdown(Setting.Scope.SPARK_CONF,
                List.of(Setting.Audience.values())));
        TABLES.put("jvm-properties", () -> PrefillSettings.markdown(Setting.Scope.JVM_PROPERTY,
                List.of(Setting.Audience.values())));
    }

    private static boolean common(OptionTable.Option o) {
        return o.name().equals(OptionTable.HELP) || o.name().equals(OptionTable.VERBOSE)
                || o.name().equals(OptionTable.LOG_LEVEL);
    }

    @Test
    void markedSectionsEqualTheGeneratedTables() throws IOException {
        boolean update = Boolean.getBoolean("readme.update");
        Set<String> seen = new TreeSet<>();
        List<String> stale = new ArrayList<>();
        for (Path doc : documents()) {
            String text = Files.readString(doc, StandardCharsets.UTF_8);
            Matcher m = SECTION.matcher(text);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String name = m.group(2);
                Supplier<String> table = TABLES.get(name);
                assertTrue(table != null, ROOT.relativize(doc) + ": unknown generated section '" + name
                        + "'; known: " + TABLES.keySet());
                seen.add(name);
                String expected = table.get();
                if (!m.group(3).equals(expected)) stale.add(ROOT.relativize(doc) + ": " + name);
                m.appendReplacement(out, Matcher.quoteReplacement(m.group(1) + expected + m.group(4)));
            }
            m.appendTail(out);
            if (update && !out.toString().equals(text)) Files.writeString(doc, out.toString(), StandardCharsets.UTF_8);
        }
        Set<String> missing = new TreeSet<>(REQUIRED);
        missing.removeAll(seen);
        assertEquals(Set.of(), missing, "generated tables without a marked section in README.md or docs/");
        if (!update) {
            assertEquals(List.of(), stale, "out-of-date generated tables; rerun with -Dreadme.update=true to rewrite them");
        }
    }

    @Test
    void everySparkSettingIsUnderThePrefix() {
        for (Setting<?> s : PrefillSettings.ALL) {
            String prefix = s.scope() == Setting.Scope.SPARK_CONF ? PrefillSettings.SPARK_PREFIX : "prefill.";
            assertTrue(s.key().startsWith(prefix), s.key());
            assertTrue(!s.doc().isBlank() && !s.doc().contains("\n"), s.key() + ": one-line doc");
        }
    }

    private static List<Path> documents() throws IOException {
        List<Path> docs = new ArrayList<>(List.of(ROOT.resolve("README.md")));
        Path dir = ROOT.resolve("docs");
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
            }
        }
        return docs;
    }
}
