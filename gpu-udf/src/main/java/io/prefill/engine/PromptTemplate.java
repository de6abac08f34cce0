package io.prefill.engine;

import java.io.Serializable;
import java.util.Objects;

/**
 * Wraps a document into the prompt the model sees. The template holds {document} and optionally
 * {question}; without a template the document is the prompt.
 */
public final class PromptTemplate implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final String DOCUMENT = "{document}";
    public static final String QUESTION = "{question}";

    private final String template;

    private PromptTemplate(String template) { this.template = template; }

    public static PromptTemplate none() { return new PromptTemplate(null); }

    /** Fails fast on a template that never places the document. */
    public static PromptTemplate of(String template) {
        if (template == null || template.isEmpty()) return none();
        if (!template.contains(DOCUMENT)) {
            throw new IllegalArgumentException("prompt template must contain " + DOCUMENT + ": '" + template + "'");
        }
        return new PromptTemplate(template);
    }

    public boolean usesQuestion() { return template != null && template.contains(QUESTION); }

    /** The prompt for one document; a template asking for a question needs one. */
    public String render(String document, String question) {
        if (template == null) return document;
        if (usesQuestion() && (question == null || question.isEmpty())) {
            throw new DocumentException(DocumentException.Kind.TEMPLATE,
                    "the prompt template uses " + QUESTION + " but this document has no question");
        }
        // Single pass so that a document containing "{question}" is not substituted into.
        StringBuilder sb = new StringBuilder(template.length() + document.length());
        int i = 0;
        while (i < template.length()) {
            if (template.startsWith(DOCUMENT, i)) {
                sb.append(document);
                i += DOCUMENT.length();
            } else if (template.startsWith(QUESTION, i)) {
                sb.append(question);
                i += QUESTION.length();
            } else {
                sb.append(template.charAt(i++));
            }
        }
        return sb.toString();
    }

    /**
     * Equal templates are equal values: a spec deserialised on an executor must find the engine
     * the previous task built (EngineCache keys on the spec), not build one per task.
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof PromptTemplate t && Objects.equals(template, t.template);
    }

    @Override
    public int hashCode() { return Objects.hashCode(template); }

    @Override
    public String toString() { return template == null ? "{document}" : template; }
}
