package io.prefill.engine;

import io.prefill.cpu.CpuForwardPass;
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
        switch (validate(name)) {
            case "cpu":
                return new CpuForwardPass(model.config(), model.weights(), patterns);
            case "cuda":
            default:
                throw new UnsupportedOperationException("backend 'cuda': the whole-model GPU forward pass is not "
                        + "part of this build yet; run with --backend cpu");
        }
    }
}
