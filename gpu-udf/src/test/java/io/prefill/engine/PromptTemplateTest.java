package io.prefill.engine;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PromptTemplateTest {
    @Test
    void optionsWithEqualTemplatesAreEqualAfterSerialisation() throws Exception {
        EngineOptions o = new EngineOptions(5, 0, LengthPolicy.ERROR, PromptTemplate.of("Q: {question}\n{document}"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            Object back = in.readObject();
            assertEquals(o, back);
            assertEquals(o.hashCode(), back.hashCode());
        }
        assertEquals(PromptTemplate.none(), PromptTemplate.of(""));
        assertNotEquals(PromptTemplate.none(), PromptTemplate.of("{document}"));
    }

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
