package io.prefill.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PromptTemplateTest {
    @Test
    void noTemplateMeansTheDocumentItself() {
        assertEquals("abc", PromptTemplate.none().render("abc", null));
        assertEquals("abc", PromptTemplate.of("").render("abc", "q"));
    }

    @Test
    void fillsDocumentAndQuestionWithoutRecursing() {
        PromptTemplate t = PromptTemplate.of("<doc>{document}</doc> Q: {question}");
        assertEquals("<doc>text with {question} inside</doc> Q: why?", t.render("text with {question} inside", "why?"));
    }

    @Test
    void templateWithoutDocumentFailsFast() {
        assertThrows(IllegalArgumentException.class, () -> PromptTemplate.of("Q: {question}"));
    }

    @Test
    void missingQuestionIsADocumentError() {
        DocumentException e = assertThrows(DocumentException.class,
                () -> PromptTemplate.of("{document} {question}").render("d", null));
        assertEquals(DocumentException.Kind.TEMPLATE, e.kind());
    }
}
