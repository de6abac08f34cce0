package io.prefill.engine;

import io.prefill.cpu.CpuForwardPass;
import io.prefill.cuda.forward.CudaBackendOptions;
import io.prefill.cuda.forward.CudaForwardPass;
import io.prefill.model.LoadedModel;
import io.prefill.sparse.PatternConfig;

import java.util.List;
import java.util.Locale;

/** Creates a forward backend by name. */
public final class Backends {
    public static final List<String> NAMES = List.of("cpu", "cuda");

    private Backends() { }

    /** Fails fast on an unknown name, before any document is read. */
    public static String validate(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        if (!NAMES.contains(n)) {
            throw new IllegalArgumentException("unknown backend '" + name + "': expected one of " + NAMES);
        }
        return n;
    }

    public static ForwardBackend create(String name, LoadedModel model, PatternConfig patterns) {
        return create(name, model, patterns, CudaBackendOptions.defaults());
    }

    /** Fails fast, before any device is touched, on a model or pattern config the backend cannot run. */
    public static void checkSupported(String name, io.prefill.model.ModelConfig config, PatternConfig patterns) {
        if ("cuda".equals(validate(name))) CudaForwardPass.checkSupported(config, patterns);
    }

    /** `cuda` loads the weights onto the options' device (ignored by `cpu`). */
    public static ForwardBackend create(String name, LoadedModel model, PatternConfig patterns, CudaBackendOptions cuda) {
        return switch (validate(name)) {
            case "cpu" -> new CpuForwardPass(model.config(), model.weights(), patterns);
            default -> CudaForwardPass.create(model.config(), model.weights(), patterns, cuda);
        };
    }
}
