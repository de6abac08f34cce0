package io.prefill.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prefill.model.TextTokenizer;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A seeded corpus of long synthetic documents (reports with a few numbered facts buried in filler
 * prose), sized in tokens of the demo model's tokenizer, written as JSON lines (id, text, question).
 * Two deliberately bad rows (empty and null text) show how errors are reported.
 */
public final class DemoCorpus {
    private static final String[] WORDS = ("the a of and to in is was for on that with as by at from this be are "
            + "an which or it have has not were but all their its one been more also there can report contract "
            + "filing revenue quarter market risk clause party agreement section model data system result value "
            + "growth system network energy policy review audit schedule payment term notice court record study "
            + "sample analysis method trial patient signal memory cluster server request error log build release "
            + "north south river city council budget project team member office annual total increase decrease "
            + "early late major minor public private general special final initial local global new old high low")
            .split(" ");

    private DemoCorpus() { }

    /** Writes the corpus; lengths are the target token counts of the documents. */
    public static void write(Path file, TextTokenizer tokenizer, int[] lengths, long seed) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Random random = new Random(seed);
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int i = 0; i < lengths.length; i++) {
                int code = 1000 + random.nextInt(9000);
                String text = document(tokenizer, lengths[i], code, random);
                ObjectNode row = json.createObjectNode();
                row.put("id", String.format("doc-%02d-%dk", i, Math.round(lengths[i] / 1024.0)));
                row.put("text", text);
                row.put("question", "What is the access code mentioned in the report?");
                w.write(json.writeValueAsString(row));
                w.write('\n');
            }
            w.write("{\"id\": \"doc-empty\", \"text\": \"\", \"question\": \"Is anything here?\"}\n");
            w.write("{\"id\": \"doc-null\", \"question\": \"Is anything here?\"}\n");
        }
    }

    static String document(TextTokenizer tokenizer, int targetTokens, int code, Random random) {
        StringBuilder doc = new StringBuilder();
        int tokens = 0;
        int paragraph = 0;
        int needleAt = random.nextInt(Math.max(1, targetTokens / 2));
        boolean needlePlaced = false;
        while (tokens < targetTokens) {
            String p = paragraph(random, ++paragraph);
            if (!needlePlaced && tokens >= needleAt) {
                p = p + " The access code for the archive is " + code + ".";
                needlePlaced = true;
            }
            p = p + "\n\n";
            // Token counts of separate paragraphs add up to within a token or two of the whole.
            tokens += tokenizer.encode(p).length;
            doc.append(p);
        }
        return doc.toString();
    }

    private static String paragraph(Random random, int number) {
        StringBuilder p = new StringBuilder("Section ").append(number).append(". ");
        int sentences = 3 + random.nextInt(4);
        for (int s = 0; s < sentences; s++) {
            int words = 8 + random.nextInt(12);
            for (int i = 0; i < words; i++) {
                String word = WORDS[random.nextInt(WORDS.length)];
                if (i == 0) word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
                p.append(word).append(i == words - 1 ? ". " : " ");
            }
        }
        return p.toString().trim();
    }
}
