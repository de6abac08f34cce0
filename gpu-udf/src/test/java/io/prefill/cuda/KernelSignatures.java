package io.prefill.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The extern "C" kernels of src/main/cuda with their parameters, read from the source: what the
 * argument list of a {@link Kernel#launch} has to match, parameter by parameter (a wrong list does
 * not fail on the host; the kernel reads garbage on the GPU). Kernels defined in a macro of head_dim
 * (`#define X(D)` with names `..._d##D`) are listed once per instantiation (`X(64)`, `X(128)`);
 * kernels whose name is itself a macro parameter (gemm.cuh's) are not listed.
 */
final class KernelSignatures {
    static final Path CUDA = Path.of("src/main/cuda");

    private static final Pattern KERNEL = Pattern.compile(
            "extern\\s+\"C\"\\s+__global__\\s+void\\s+(?:__launch_bounds__\\s*\\([^)]*\\)\\s*)?"
                    + "([A-Za-z_]\\w*(?:##D)?)\\s*\\(([^)]*)\\)\\s*\\{");
    private static final Pattern HEAD_DIM_MACRO = Pattern.compile("#define\\s+(\\w+)\\(D\\)");

    /** One parameter: its C type without the name (e.g. "const bf16*", "int", "CsrPlan") and its name. */
    record Param(String type, String name) {
        Kind kind() { return Kind.of(type); }
    }

    /**
     * How Kernel.launch passes an argument, and the C parameters each way fits: DeviceBuffer as a
     * pointer, DevicePlan as a plan struct by value (CsrPlan, or the CsrPlanOut a fill kernel
     * writes: same layout), TensorMap as the TmaDesc a TMA kernel reads, Integer as a 4-byte int, Float, Long as an 8-byte integer.
     */
    enum Kind {
        POINTER, PLAN, TENSOR_MAP, INT, FLOAT, LONG;

        static Kind of(String cType) {
            if (cType.endsWith("*")) return POINTER;
            return switch (cType) {
                case "CsrPlan", "CsrPlanOut" -> PLAN;
                case "const __grid_constant__ pk::TmaDesc" -> TENSOR_MAP;
                case "int", "unsigned", "unsigned int" -> INT;
                case "float" -> FLOAT;
                case "long long", "unsigned long long" -> LONG;
                default -> throw new IllegalArgumentException("no Kernel.launch argument for a parameter of type " + cType);
            };
        }

        /** The kind of a launch argument's Java type (its qualified name or primitive), or null if none. */
        static Kind ofJava(String javaType) {
            return switch (javaType) {
                case "io.prefill.cuda.DeviceBuffer" -> POINTER;
                case "io.prefill.cuda.DevicePlan" -> PLAN;
                case "io.prefill.cuda.TensorMap" -> TENSOR_MAP;
                case "int", "java.lang.Integer" -> INT;
                case "float", "java.lang.Float" -> FLOAT;
                case "long", "java.lang.Long" -> LONG;
                default -> null;
            };
        }

        /** The kind of a launch argument's value (as Kernel.param sees it), or null if none. */
        static Kind ofValue(Object a) {
            if (a instanceof DeviceBuffer) return POINTER;
            if (a instanceof DevicePlan) return PLAN;
            if (a instanceof TensorMap) return TENSOR_MAP;
            if (a instanceof Integer) return INT;
            if (a instanceof Float) return FLOAT;
            if (a instanceof Long) return LONG;
            return null;
        }
    }

    private KernelSignatures() { }

    /** Every kernel of src/main/cuda, by name. */
    static Map<String, List<Param>> all() {
        Map<String, List<Param>> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(CUDA)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu") || p.toString().endsWith(".cuh")).sorted().toList())
                parse(Files.readString(f), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Fails unless `args` (as given to Kernel.launch) fit `kernel`'s parameters one by one; a null
     * pointer may be passed as 0L.
     */
    static void assertArgumentsFit(String kernel, Object[] args) {
        List<Param> params = of(kernel);
        if (params.size() != args.length)
            throw new AssertionError(kernel + ": " + params + " against " + args.length + " arguments");
        for (int i = 0; i < args.length; i++) {
            Kind want = params.get(i).kind(), got = Kind.ofValue(args[i]);
            boolean nullPointer = want == Kind.POINTER && Long.valueOf(0L).equals(args[i]);
            if (want != got && !nullPointer)
                throw new AssertionError(kernel + " argument " + i + " (" + params.get(i) + "): " + args[i]);
        }
    }

    /** The parameters of one kernel. */
    static List<Param> of(String kernel) {
        List<Param> p = all().get(kernel);
        if (p == null) throw new IllegalArgumentException(kernel + " is not an extern \"C\" kernel of " + CUDA);
        return p;
    }

    private static void parse(String source, Map<String, List<Param>> out) {
        String src = source.replace("\\\r\n", " ").replace("\\\n", " ");  // macro bodies: one line
        Matcher m = KERNEL.matcher(src);
        while (m.find()) {
            String name = m.group(1);
            if (name.equals(name.toUpperCase())) continue;  // a macro parameter (gemm.cuh)
            List<Param> params = params(m.group(2));
            if (!name.endsWith("##D")) {
                out.put(name, params);
                continue;
            }
            String macro = null;
            Matcher d = HEAD_DIM_MACRO.matcher(src.substring(0, m.start()));
            while (d.find()) macro = d.group(1);
            if (macro == null) throw new IllegalStateException(name + " outside a #define X(D)");
            Matcher use = Pattern.compile("(?m)^\\s*" + macro + "\\((\\d+)\\)\\s*$").matcher(src);
            int uses = 0;
            for (; use.find(); uses++) out.put(name.replace("##D", use.group(1)), params);
            if (uses == 0) throw new IllegalStateException(macro + " is never instantiated");
        }
    }

    private static List<Param> params(String list) {
        List<Param> out = new ArrayList<>();
        if (list.isBlank() || list.trim().equals("void")) return out;
        for (String p : list.split(",")) {
            String t = p.replace("__restrict__", " ").trim().replaceAll("\\s+", " ").replace(" *", "*");
            int cut = Math.max(t.lastIndexOf(' '), t.lastIndexOf('*'));
            out.add(new Param(t.substring(0, cut + 1).trim(), t.substring(cut + 1).trim()));
        }
        return out;
    }
}
