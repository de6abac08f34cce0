package io.prefill.engine;

import java.util.List;
import java.util.Locale;

/**
 * The names of the forward backends. The backends themselves sit above the engine (they implement
 * {@link ForwardBackend}); io.prefill.udf.ForwardBackends creates one from its name.
 */
public final class Backends {
    public static final String CPU = "cpu";
    public static final String CUDA = "cuda";
    public static final List<String> NAMES = List.of(CPU, CUDA);

    private Backends() { }

    /** Fails fast on an unknown name, before any document is read. */
    public static String validate(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        if (!NAMES.contains(n)) {
            throw new IllegalArgumentException("unknown backend '" + name + "': expected one of " + NAMES);
        }
        return n;
    }
}
