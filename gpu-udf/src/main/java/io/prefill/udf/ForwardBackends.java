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
     * As above, also for the projections' format (a {@link LoadedModel#weightsLabel()}): FP8
     * projections on cuda need 16-byte rows of codes. Whether the GPU has FP8 tensor cores is
     * asked on the executor ({@link io.prefill.cuda.Gemm#fp8Unsupported}).
     */
    public static void checkSupported(String name, ModelConfig config, String weights, PatternConfig patterns) {
        checkSupported(name, config, patterns);
        if ("cuda".equals(Backends.validate(name)) && FP8_WEIGHTS.equals(weights)) CudaForwardPass.checkFp8Shapes(config);
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
