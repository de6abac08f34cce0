package io.prefill.engine;

import io.prefill.kv.KvSummaryResult;

/** One pre-fill's two outputs: the first token (always) and the KV summary (when asked for, else null). */
public record DocumentOutputs(DocumentResult first, KvSummaryResult kv) { }
