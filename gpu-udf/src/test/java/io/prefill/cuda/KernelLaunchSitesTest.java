package io.prefill.cuda;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.source.tree.BinaryTree;
import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.ExpressionTree;
import com.sun.source.tree.LiteralTree;
import com.sun.source.tree.MemberSelectTree;
import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.Tree;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreePathScanner;
import com.sun.source.util.Trees;
import io.prefill.cuda.KernelSignatures.Kind;
import io.prefill.cuda.KernelSignatures.Param;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.type.TypeKind;
import javax.lang.model.type.TypeMirror;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;

/**
 * Every {@link Kernel#launch} in the backend's sources against the parameters of the kernel it
 * launches ({@link KernelSignatures}), without a GPU: as many arguments as parameters, each of the
 * kind Kernel.launch passes for that parameter (a DeviceBuffer for a pointer, a DevicePlan for a
 * CsrPlan or CsrPlanOut, an int for an int, ...). A wrong list does not fail on the host; the
 * kernel reads garbage on the GPU. The arguments' types come from javac's attribution of the
 * sources (the compiler of the JDK that runs the tests), the kernel from the launch's name: a
 * literal, a literal prefix + head_dim, or, for the attention launches that pick a variant at run
 * time, every kernel the method can pick. Launches that forward an argument array (ModelKernels,
 * whose Launch records ModelKernelsLaunchTest checks) or name their kernel otherwise (Gemm's
 * tiles) are left out; none of them passes a plan, and every launch that passes a plan is checked.
 */
class KernelLaunchSitesTest {
    private static final Path SOURCES = Path.of("src/main/java/io/prefill/cuda");

    /** The kernels a launch whose name is chosen at run time may launch, by "Class.method". */
    private static final Map<String, Pattern> RUN_TIME_NAMES = Map.of(
            "AttentionKernels.dense", Pattern.compile("attention_dense_(mma|wgmma|ws)_d\\d+"),
            "AttentionKernels.denseWithLse", Pattern.compile("attention_dense_(mma|wgmma|ws)_lse_d\\d+"),
            "AttentionKernels.withPlan", Pattern.compile("attention_plan_(mma|wgmma)_d\\d+"),
            "AttentionKernels.withPlanAndLse", Pattern.compile("attention_plan_(mma|wgmma)_lse_d\\d+"),
            "AttentionKernels.withPairPlan", Pattern.compile("attention_pair_plan_(mma|mma_head_major|ws)_d\\d+"),
            "AttentionKernels.denseBulk", Pattern.compile("attention_dense_ws_tma_d\\d+"),
            "AttentionKernels.pairBulk", Pattern.compile("attention_pair_plan_ws_tma_d\\d+"));

    /** One launch in the sources: where, the kernels it may launch (empty: unknown), its arguments' Java types. */
    private record Site(String where, List<String> kernels, List<String> argTypes, boolean forwardsArray) {
        boolean passesPlan() { return argTypes.contains("io.prefill.cuda.DevicePlan"); }
    }

    @Test
    void everyLaunchFitsItsKernelsParameters() throws IOException {
        Map<String, List<Param>> kernels = KernelSignatures.all();
        List<Site> sites = launchSites(kernels.keySet());
        List<String> failures = new ArrayList<>();
        int checked = 0, checkedWithPlan = 0;
        for (Site s : sites) {
            if (s.forwardsArray() || s.kernels().isEmpty()) {
                if (s.passesPlan()) failures.add(s.where() + ": passes a plan, but its kernel is not known to this test");
                continue;
            }
            for (String k : s.kernels()) failures.addAll(mismatches(s, k, kernels.get(k)));
            checked++;
            if (s.passesPlan()) checkedWithPlan++;
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        // the plan launches: withPlan, withPairPlan, pairBulk, withPlanAndLse, plan_entries_k,
        // pair_plan_count/fill, kept_mass_d*, plan_pick_count/fill, vs_plan_fill_k
        assertEquals(11, checkedWithPlan, "launches passing a plan: " + sites.stream().filter(Site::passesPlan).toList());
        assertTrue(checked >= 30, "only " + checked + " launches checked: " + sites);
    }

    /** Each RUN_TIME_NAMES entry names kernels that exist (a renamed kernel must not leave a launch unchecked). */
    @Test
    void runTimeNamesMatchKernels() {
        Set<String> kernels = KernelSignatures.all().keySet();
        RUN_TIME_NAMES.forEach((where, names) ->
                assertTrue(kernels.stream().filter(k -> names.matcher(k).matches()).count() >= 2, where + ": " + names));
    }

    private static List<String> mismatches(Site s, String kernel, List<Param> params) {
        List<String> out = new ArrayList<>();
        String what = s.where() + " -> " + kernel;
        if (params.size() != s.argTypes().size()) {
            out.add(what + ": " + s.argTypes().size() + " arguments " + s.argTypes() + " for " + params.size()
                    + " parameters " + params);
            return out;
        }
        for (int i = 0; i < params.size(); i++) {
            Kind want = params.get(i).kind(), got = Kind.ofJava(s.argTypes().get(i));
            if (want != got)
                out.add(what + ": argument " + i + " is " + s.argTypes().get(i) + ", parameter " + params.get(i));
        }
        return out;
    }

    /** The Kernel.launch calls of the sources under SOURCES, attributed by javac. */
    private static List<Site> launchSites(Set<String> kernelNames) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "the tests run on a JRE without javac");
        List<Path> files;
        try (Stream<Path> all = Files.walk(SOURCES)) {
            files = all.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        List<Site> sites = new ArrayList<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            JavacTask task = (JavacTask) javac.getTask(null, fm, diagnostics,
                    List.of("-proc:none", "-classpath", classPath()), null, fm.getJavaFileObjectsFromPaths(files));
            Iterable<? extends CompilationUnitTree> units = task.parse();
            task.analyze();
            List<String> errors = diagnostics.getDiagnostics().stream().filter(d -> d.getKind() == Diagnostic.Kind.ERROR)
                    .map(Object::toString).toList();
            assertTrue(errors.isEmpty(), "the sources do not compile here:\n" + String.join("\n", errors));
            Trees trees = Trees.instance(task);
            for (CompilationUnitTree unit : units) new Scanner(trees, kernelNames, sites).scan(unit, null);
        }
        return sites;
    }

    /** The test's class path (also where it is only in a launcher jar's manifest) and the jars the sources need. */
    private static String classPath() {
        Set<String> entries = new LinkedHashSet<>();
        for (String p : new String[] {System.getProperty("java.class.path"), System.getProperty("surefire.test.class.path")})
            if (p != null && !p.isBlank()) entries.addAll(List.of(p.split(File.pathSeparator)));
        for (Class<?> c : new Class<?>[] {Kernel.class, CUdeviceptr.class}) {
            try {
                entries.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            } catch (Exception e) {
                // not from a file: the class path above has to do
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static final class Scanner extends TreePathScanner<Void, Void> {
        private final Trees trees;
        private final Set<String> kernelNames;
        private final List<Site> sites;

        Scanner(Trees trees, Set<String> kernelNames, List<Site> sites) {
            this.trees = trees;
            this.kernelNames = kernelNames;
            this.sites = sites;
        }

        @Override
        public Void visitMethodInvocation(MethodInvocationTree node, Void unused) {
            Element e = trees.getElement(getCurrentPath());
            if (e instanceof ExecutableElement m && m.getSimpleName().contentEquals("launch")
                    && ((TypeElement) m.getEnclosingElement()).getQualifiedName().contentEquals(Kernel.class.getName())) {
                List<? extends ExpressionTree> all = node.getArguments();
                List<String> types = new ArrayList<>();
                for (ExpressionTree a : all.subList(4, all.size())) types.add(typeName(a));
                boolean forwards = types.size() == 1 && types.get(0).equals("java.lang.Object[]");
                sites.add(new Site(where(), kernels(node), types, forwards));
            }
            return super.visitMethodInvocation(node, unused);
        }

        private String typeName(ExpressionTree arg) {
            TypeMirror t = trees.getTypeMirror(new TreePath(getCurrentPath(), arg));
            return t.getKind() == TypeKind.ERROR ? "<error>" : t.toString();
        }

        /** "Class.method" of the launch. */
        private String where() {
            String method = "?", cls = "?";
            for (TreePath p = getCurrentPath(); p != null; p = p.getParentPath()) {
                Tree t = p.getLeaf();
                if (t instanceof MethodTree mt && method.equals("?")) method = mt.getName().toString();
                if (t instanceof ClassTree ct) {
                    cls = ct.getSimpleName().toString();
                    break;
                }
            }
            return cls + "." + method;
        }

        /** The kernels the launch may launch: module.kernel(NAME).launch(...) with NAME a literal, a literal + head_dim, or run-time. */
        private List<String> kernels(MethodInvocationTree launch) {
            if (!(launch.getMethodSelect() instanceof MemberSelectTree sel)
                    || !(sel.getExpression() instanceof MethodInvocationTree kernel) || kernel.getArguments().size() != 1)
                return List.of();
            ExpressionTree name = kernel.getArguments().get(0);
            if (name instanceof LiteralTree lit && lit.getValue() instanceof String s) return known(List.of(s));
            if (name instanceof BinaryTree b && b.getKind() == Tree.Kind.PLUS && b.getLeftOperand() instanceof LiteralTree lit
                    && lit.getValue() instanceof String prefix && typeName(b.getRightOperand()).equals("int")) {
                Pattern headDim = Pattern.compile(Pattern.quote(prefix) + "\\d+");
                return kernelNames.stream().filter(k -> headDim.matcher(k).matches()).sorted().toList();
            }
            Pattern runTime = RUN_TIME_NAMES.get(where());
            if (runTime == null) return List.of();
            return kernelNames.stream().filter(k -> runTime.matcher(k).matches()).sorted().toList();
        }

        private List<String> known(List<String> names) {
            for (String n : names) assertTrue(kernelNames.contains(n), where() + " launches " + n + ", which no .cu file defines");
            return names;
        }
    }
}
