/**
 * The offline pattern search on the device: the cuda backend's dense pre-fill, and per layer,
 * every candidate family fitted to the target cost on the plans the cuda backend would run (the
 * adaptive family, fitted over all documents, at every gamma) and scored against dense attention
 * with device reductions (search.cuh). The CPU reference of the same steps is
 * {@link io.prefill.search.CpuCalibrationScorer}.
 */
package io.prefill.cuda.search;
