package io.prefill.engine;

import io.prefill.kv.KvSummaryOptions;
import io.prefill.kv.KvSummaryResult;
import io.prefill.model.LoadedModel;
import io.prefill.model.TextTokenizer;

/**
 * Document in, first-token output out: template, tokenize, apply the length policy, pre-fill on
 * the backend, log-softmax and top-k at the last position. A problem with one document becomes
 * an error result; only a broken engine throws.
 */
public final class PrefillEngine implements AutoCloseable {
    private final LoadedModel model;
    private final ForwardBackend backend;
    private final EngineOptions options;

    public PrefillEngine(LoadedModel model, ForwardBackend backend, EngineOptions options) {
        this.model = model;
        this.backend = backend;
        this.options = options;
    }

    public LoadedModel model() { return model; }

    public String backendName() { return backend.name(); }

    /** Whether {@link #prefillWithKvSummary} works on this engine's backend. */
    public boolean supportsKvSummary() { return backend.supportsKvSummary(); }

    /**
     * A document templated, tokenized and cut by the length policy: the part of its work that needs
     * no device, so that a task can do it before taking its turn on a shared GPU. A document problem
     * found here (empty text, tokenizer, too long) is carried as its error kind and message.
     */
    public record PreparedDocument(int promptTokens, int[] kept, String errorKind, String error) {
        public boolean failed() { return errorKind != null; }
    }

    public PreparedDocument prepare(String document, String question) {
        int promptTokens = 0;
        try {
            int[] tokens = promptTokens(document, question);
            promptTokens = tokens.length;
            return new PreparedDocument(tokens.length, kept(tokens), null, null);
        } catch (DocumentException e) {
            return new PreparedDocument(promptTokens, null, e.kind().label(), e.getMessage());
        } catch (RuntimeException e) {
            return new PreparedDocument(promptTokens, null, DocumentException.Kind.ENGINE.label(), engineMessage(e));
        }
    }

    public DocumentResult prefill(String document, String question) {
        return prefill(prepare(document, question));
    }

    public DocumentResult prefill(PreparedDocument doc) {
        if (doc.failed()) return DocumentResult.failed(backend.name(), doc.promptTokens(), doc.errorKind(), doc.error());
        try {
            DocumentResult r = prefillTokens(doc.kept(), doc.promptTokens() - doc.kept().length);
            // Report the prompt's own length; dropped_tokens says how much of it the policy cut.
            return new DocumentResult(doc.promptTokens(), r.droppedTokens(), r.first(), r.attention(), r.prefillMillis(),
                    r.backend(), null, null);
        } catch (DocumentException e) {
            return DocumentResult.failed(backend.name(), doc.promptTokens(), e.kind().label(), e.getMessage());
        } catch (RuntimeException e) {
            return DocumentResult.failed(backend.name(), doc.promptTokens(), DocumentException.Kind.ENGINE.label(),
                    engineMessage(e));
        }
    }

    /**
     * One pre-fill giving both the first token and a KV summary (selected layer by layer during the
     * pre-fill). A summary over {@code kv.maxBytes()} is refused from its size, known from the
     * token count before the pre-fill; the first token is still computed. Problems with the
     * document fail both outputs with the same kind.
     *
     * @param modelId written into the summary (see {@link io.prefill.kv.ModelIdentity})
     */
    public DocumentOutputs prefillWithKvSummary(String document, String question, KvSummaryOptions kv, String modelId) {
        return prefillWithKvSummary(prepare(document, question), kv, modelId);
    }

    public DocumentOutputs prefillWithKvSummary(PreparedDocument doc, KvSummaryOptions kv, String modelId) {
        if (doc.failed()) return failedBoth(doc.promptTokens(), doc.errorKind(), doc.error());
        int promptTokens = doc.promptTokens();
        try {
            int[] kept = doc.kept();
            var c = model.config();
            long bytes = kv.summaryBytes(kept.length, c.numLayers(), c.numKvHeads(), c.headDim());
            boolean tooLarge = kv.maxBytes() > 0 && bytes > kv.maxBytes();
            long start = System.nanoTime();
            ForwardOutput out = tooLarge ? backend.forward(kept) : backend.forward(kept, kv);
            double millis = (System.nanoTime() - start) / 1e6;
            DocumentResult first = new DocumentResult(promptTokens, promptTokens - kept.length,
                    firstToken(out.lastLogits()), out.attention(), millis, backend.name(), null, null);
            KvSummaryResult summary = tooLarge
                    ? KvSummaryResult.tooLarge(kept.length, kept.length, bytes, kv, c.numLayers(), c.numKvHeads(), c.headDim())
                    : KvSummaryResult.ok(out.kvSummary().withModel(modelId));
            return new DocumentOutputs(first, summary);
        } catch (DocumentException e) {
            return failedBoth(promptTokens, e.kind().label(), e.getMessage());
        } catch (RuntimeException e) {
            String message = engineMessage(e);
            return failedBoth(promptTokens, DocumentException.Kind.ENGINE.label(), message);
        }
    }

    private DocumentOutputs failedBoth(int promptTokens, String kind, String message) {
        return new DocumentOutputs(DocumentResult.failed(backend.name(), promptTokens, kind, message),
                KvSummaryResult.failed(promptTokens, kind, message));
    }

    /**
     * Tokens this document will pre-fill after templating and the length policy, or -1 if it
     * will be an error row. Used to estimate costs before any pre-fill runs.
     */
    public int plannedTokens(String document, String question) {
        try {
            int[] tokens = promptTokens(document, question);
            return kept(tokens).length;
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /**
     * The tokens pre-filled: the length policy's, then no more than the model's
     * max_position_embeddings unless the options allow it (RoPE scaling that extends the model).
     */
    private int[] kept(int[] tokens) {
        int[] kept = options.lengthPolicy().apply(tokens, options.maxTokens(), model.config().bosTokenId());
        int limit = model.config().maxPositionEmbeddings();
        if (kept.length > limit && !options.allowBeyondMaxPositions()) {
            throw new DocumentException(DocumentException.Kind.TOO_LONG, "the prompt has " + kept.length
                    + " tokens, more than the model's max_position_embeddings of " + limit
                    + " (allow it with --allow-beyond-max-positions when the model's RoPE scaling extends it)");
        }
        return kept;
    }

    /** The templated prompt's token ids, before the length policy; a document problem throws. */
    private int[] promptTokens(String document, String question) {
        if (document == null || BlankText.isBlank(document)) {
            throw new DocumentException(DocumentException.Kind.EMPTY_TEXT, document == null ? "the document text is null"
                    : document.isEmpty() ? "the document text is empty"
                    : "the document text is only whitespace or invisible characters");
        }
        return tokenize(options.template().render(document, question));
    }

    private static String engineMessage(RuntimeException e) {
        return e.getMessage() == null ? e.toString() : e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    /** Pre-fills token ids directly (tests compare the Spark output against this). */
    public DocumentResult prefillTokens(int[] tokens, int droppedTokens) {
        long start = System.nanoTime();
        ForwardOutput out = backend.forward(tokens);
        double millis = (System.nanoTime() - start) / 1e6;
        return new DocumentResult(tokens.length, droppedTokens, firstToken(out.lastLogits()), out.attention(),
                millis, backend.name(), null, null);
    }

    public int[] tokenize(String prompt) {
        TextTokenizer tokenizer = model.tokenizer();
        try {
            int[] ids = tokenizer.encode(prompt, options.addSpecialTokens());
            if (ids.length == 0) {
                throw new DocumentException(DocumentException.Kind.TOKENIZER, "the tokenizer produced no tokens");
            }
            return ids;
        } catch (DocumentException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DocumentException(DocumentException.Kind.TOKENIZER, "the tokenizer rejected the text: " + e.getMessage(), e);
        }
    }

    private FirstToken firstToken(float[] logits) {
        // every backend hands its last-position logits to this one place: one check covers cpu and cuda
        String nonFinite = TokenLogprobs.nonFinite(logits);
        if (nonFinite != null) throw new DocumentException(DocumentException.Kind.ENGINE, nonFinite);
        double[] logprobs = TokenLogprobs.logSoftmax(logits);
        int[] top = TokenLogprobs.largest(logprobs, options.topK());
        String[] texts = new String[top.length];
        double[] lps = new double[top.length];
        for (int i = 0; i < top.length; i++) {
            texts[i] = model.tokenizer().tokenText(top[i]);
            lps[i] = logprobs[top[i]];
        }
        return new FirstToken(top[0], texts[0], lps[0], top, texts, lps);
    }

    @Override
    public void close() throws Exception {
        backend.close();
        model.close();
    }
}
