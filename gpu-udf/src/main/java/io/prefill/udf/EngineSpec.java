package io.prefill.udf;

import io.prefill.engine.EngineOptions;
import io.prefill.sparse.PatternConfig;

import java.io.Serializable;

/**
 * Everything an executor needs to build the same engine as the driver validated: where the model
 * lives (any Hadoop path), the pattern config as the driver parsed it from its file (null for
 * MInference's default; it travels serialised with the spec, so executors need no access to the
 * driver's files and never parse it again), the backend and the per-document options. Equal specs
 * share one engine per JVM.
 */
public record EngineSpec(String modelUri, PatternConfig patterns, String patternSource, String backend,
                         EngineOptions options) implements Serializable {

    /** The same model, patterns and options on another backend. */
    public EngineSpec withBackend(String name) {
        return new EngineSpec(modelUri, patterns, patternSource, name, options);
    }
}
