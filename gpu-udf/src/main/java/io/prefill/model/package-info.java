/**
 * Loading Llama-family checkpoints in the Hugging Face layout: config.json
 * ({@link io.prefill.model.ModelConfig}), memory-mapped safetensors weights, single or sharded
 * ({@link io.prefill.model.WeightStore}, bound and shape-checked by
 * {@link io.prefill.model.SafetensorsModelWeights}), tokenizer.json through DJL
 * ({@link io.prefill.model.TextTokenizer}), all together in {@link io.prefill.model.LoadedModel}.
 * {@link io.prefill.model.ModelCache} brings a model from any Hadoop file system to local disk;
 * {@link io.prefill.model.TinyModelWriter} writes a self-contained random model for tests and
 * the demo. Every problem with an input is a {@link io.prefill.model.ModelFormatException}
 * whose message starts with the file it concerns.
 */
package io.prefill.model;
