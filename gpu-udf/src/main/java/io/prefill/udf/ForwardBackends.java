package io.prefill.udf;

import io.prefill.cpu.CpuForwardPass;
import io.prefill.cuda.forward.CudaBackendOptions;
import io.prefill.cuda.forward.CudaForwardPass;
import io.prefill.engine.Backends;
import io.prefill.engine.ForwardBackend;
import io.prefill.model.LoadedModel;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelFormatException;
import io.prefill.sparse.PatternConfig;

/**
 * Creates a forward backend by its name ({@link Backends#NAMES}). It lives here, above the
 * backends, because the engine only runs a {@link ForwardBackend} and the backends build on the
 * engine's interfaces: the engine cache is where a name becomes a backend.
 */
public final class ForwardBackends {
    private ForwardBackends() { }

    /** Fails fast, before any device is touched, on a model or pattern config the backend cannot run. */
    public static void checkSupported(String name, ModelConfig config, PatternConfig patterns) {
        if ("cuda".equals(Backends.validate(name))) CudaForwardPass.checkSupported(config, patterns);
    }

    /** The label of FP8 projection weights ({@link LoadedModel#weightsLabel()}). */
    public static final String FP8_WEIGHTS = "fp8-e4m3";

    /**
     * As above, also for the projections' format (a {@link LoadedModel#weightsLabel()}): the cuda
     * backend has no FP8 GEMMs yet, so FP8 weights run on the cpu backend only.
     */
    public static void checkSupported(String name, ModelConfig config, String weights, PatternConfig patterns) {
        if ("cuda".equals(Backends.validate(name)) && FP8_WEIGHTS.equals(weights)) {
            throw new ModelFormatException("the cuda backend cannot run FP8 weights yet (no FP8 GEMMs): the projections"
                    + " are " + weights + " (--weights fp8, or an FP8 checkpoint); run them with --backend cpu");
        }
        checkSupported(name, config, patterns);
    }

    /** `cuda` loads the weights onto the options' device (ignored by `cpu`). */
    public static ForwardBackend create(String name, LoadedModel model, PatternConfig patterns, CudaBackendOptions cuda) {
        return create(name, model, patterns, cuda, 0);
    }

    /**
     * @param minKeptMass sparse heads keeping less of their attention mass run dense (both backends)
     */
    public static ForwardBackend create(String name, LoadedModel model, PatternConfig patterns, CudaBackendOptions cuda,
                                       double minKeptMass) {
        return switch (Backends.validate(name)) {
            case "cpu" -> new CpuForwardPass(model.config(), model.weights(), patterns, minKeptMass);
            default -> {
                checkSupported(name, model.config(), model.weightsLabel(), patterns);  // before the device is touched
                yield CudaForwardPass.create(model.config(), model.weights(), patterns, cuda, minKeptMass);
            }
        };
    }
}
