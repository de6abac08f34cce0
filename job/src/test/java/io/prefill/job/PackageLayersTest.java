package io.prefill.job;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The package graph of both modules' main sources, read from the source text: every reference to
 * a type of another io.prefill package (import, static import, fully qualified name; comments and
 * string literals do not count). It must have no cycle, and every edge must point down the order
 * the README's layout section declares.
 */
class PackageLayersTest {
    /** Lowest first: a package may use only the packages before it. */
    static final List<String> ORDER = List.of(
            "settings", "io", "model", "sparse", "kv", "engine", "cpu", "cuda", "cuda.forward", "search",
            "cuda.search", "udf", "job.cli", "job.report", "job.search", "job");
    private static final List<Path> ROOTS = List.of(Path.of("..", "gpu-udf", "src", "main", "java"),
            Path.of("src", "main", "java"));
    private static final Pattern PACKAGE = Pattern.compile("^\\s*package\\s+io\\.prefill\\.([a-z0-9.]+)\\s*;", Pattern.MULTILINE);
    private static final Pattern REFERENCE = Pattern.compile("\\bio\\.prefill\\.((?:[a-z][a-z0-9]*\\.)*[a-z][a-z0-9]*)\\.(?:[A-Z*])");

    @Test
    void thePackageGraphHasNoCycle() throws IOException {
        Map<String, Set<String>> graph = graph();
        List<String> cycles = new ArrayList<>();
        Set<String> done = new TreeSet<>();
        for (String p : graph.keySet()) findCycle(p, graph, new ArrayList<>(), done, cycles);
        assertEquals(List.of(), cycles, "package cycles");
    }

    @Test
    void everyPackageUsesOnlyPackagesBelowIt() throws IOException {
        Map<String, Set<String>> graph = graph();
        List<String> problems = new ArrayList<>();
        for (var e : graph.entrySet()) {
            int from = ORDER.indexOf(e.getKey());
            if (from < 0) {
                problems.add("package io.prefill." + e.getKey() + " is not in the declared order");
                continue;
            }
            for (String to : e.getValue()) {
                int at = ORDER.indexOf(to);
                if (at < 0) problems.add(e.getKey() + " -> " + to + " (not in the declared order)");
                else if (at >= from) problems.add(e.getKey() + " -> " + to + " points up");
            }
        }
        assertEquals(List.of(), problems, "the declared order, lowest first: " + ORDER);
    }

    /** The scan itself: it must see the edges it is there to forbid, comments and strings aside. */
    @Test
    void referencesAreReadFromCodeOnly() {
        String source = """
                package io.prefill.kv;
                import io.prefill.model.ModelConfig;
                import static io.prefill.sparse.TopK.select;
                /** See {@link io.prefill.udf.EngineCache}. */
                class X { // io.prefill.job.PrefillJob
                    String s = "io.prefill.cuda.Kernel \\" io.prefill.cpu.Rope";
                    io.prefill.engine.PrefillEngine e;
                    Object o = io.prefill.cuda.forward.MemoryPlan.class;
                }
                """;
        assertEquals(Set.of("model", "sparse", "engine", "cuda.forward"), references(source, "kv"));
    }

    static Map<String, Set<String>> graph() throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        for (Path root : ROOTS) {
            assertTrue(Files.isDirectory(root), root.toAbsolutePath() + " is missing");
            List<Path> files;
            try (Stream<Path> s = Files.walk(root)) {
                files = s.filter(f -> f.toString().endsWith(".java")).toList();
            }
            for (Path f : files) {
                String text = Files.readString(f);
                Matcher m = PACKAGE.matcher(text);
                assertTrue(m.find(), f + " declares no io.prefill package");
                String pkg = m.group(1);
                graph.computeIfAbsent(pkg, k -> new TreeSet<>()).addAll(references(text, pkg));
            }
        }
        return graph;
    }

    /** The other io.prefill packages the code of one file names. */
    static Set<String> references(String source, String ownPackage) {
        Set<String> out = new TreeSet<>();
        Matcher m = REFERENCE.matcher(codeOnly(source));
        while (m.find()) if (!m.group(1).equals(ownPackage)) out.add(m.group(1));
        return out;
    }

    /** The source with comments, string and character literals (text blocks too) blanked out. */
    static String codeOnly(String s) {
        StringBuilder b = new StringBuilder(s.length());
        int i = 0, n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (s.startsWith("//", i)) {
                while (i < n && s.charAt(i) != '\n') i++;
            } else if (s.startsWith("/*", i)) {
                int end = s.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                b.append(' ');
            } else if (s.startsWith("\"\"\"", i)) {
                int end = s.indexOf("\"\"\"", i + 3);
                while (end > 0 && s.charAt(end - 1) == '\\') end = s.indexOf("\"\"\"", end + 1);
                i = end < 0 ? n : end + 3;
                b.append("\"\"");
            } else if (c == '"' || c == '\'') {
                i++;
                while (i < n && s.charAt(i) != c) i += s.charAt(i) == '\\' ? 2 : 1;
                i++;
                b.append(c).append(c);
            } else {
                b.append(c);
                i++;
            }
        }
        return b.toString();
    }

    /** Depth-first search; each cycle found is reported once, as the path that closes it. */
    private static void findCycle(String p, Map<String, Set<String>> graph, List<String> path, Set<String> done,
                                  List<String> cycles) {
        int at = path.indexOf(p);
        if (at >= 0) {
            List<String> cycle = new ArrayList<>(path.subList(at, path.size()));
            cycle.add(p);
            cycles.add(String.join(" -> ", cycle));
            return;
        }
        if (done.contains(p)) return;
        path.add(p);
        for (String q : graph.getOrDefault(p, Set.of())) findCycle(q, graph, path, done, cycles);
        path.remove(path.size() - 1);
        done.add(p);
    }
}
