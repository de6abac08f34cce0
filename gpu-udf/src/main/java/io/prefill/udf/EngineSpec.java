package io.prefill.udf;

import io.prefill.engine.EngineOptions;
import io.prefill.model.WeightFormat;
import io.prefill.sparse.PatternConfig;

import java.io.Serializable;

/**
 * Everything an executor needs to build the same engine as the driver validated: where the model
 * lives (any Hadoop path), the pattern config as the driver parsed it from its file (null for
 * MInference's default; it travels serialised with the spec, so executors need no access to the
 * driver's files and never parse it again), the backend, the per-document options and how the
 * projection weights are held. Equal specs share one engine per JVM.
 */
public record EngineSpec(String modelUri, PatternConfig patterns, String patternSource, String backend,
                         EngineOptions options, WeightFormat weights) implements Serializable {

    /** The weights as stored. */
    public EngineSpec(String modelUri, PatternConfig patterns, String patternSource, String backend,
                      EngineOptions options) {
        this(modelUri, patterns, patternSource, backend, options, WeightFormat.AS_STORED);
    }

    /** The same model, patterns and options on another backend. */
    public EngineSpec withBackend(String name) {
        return new EngineSpec(modelUri, patterns, patternSource, name, options, weights);
    }

    /** The same spec with the projections in another format. */
    public EngineSpec withWeights(WeightFormat format) {
        return new EngineSpec(modelUri, patterns, patternSource, backend, options, format);
    }
}
