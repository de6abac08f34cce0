package io.prefill.job.search;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Calibration documents from local files on the driver: a .txt file is one document (its file
 * name is the id), a .jsonl file holds one {"id", "text"} object per line, a directory contributes
 * its .txt and .jsonl files in name order. A handful of documents is all a search needs.
 */
public final class CalibrationReader {
    /** An untokenized calibration document. */
    public record Text(String id, String text) { }

    private static final ObjectMapper JSON = new ObjectMapper();

    private CalibrationReader() { }

    public static List<Text> read(List<Path> paths) {
        List<Text> docs = new ArrayList<>();
        for (Path p : paths) readPath(p, docs);
        if (docs.isEmpty()) throw new IllegalArgumentException("no calibration documents found in " + paths);
        return docs;
    }

    private static void readPath(Path p, List<Text> docs) {
        try {
            if (Files.isDirectory(p)) {
                try (Stream<Path> files = Files.list(p)) {
                    for (Path f : files.filter(CalibrationReader::isCalibrationFile).sorted().toList()) readFile(f, docs);
                }
            } else if (Files.isRegularFile(p)) {
                readFile(p, docs);
            } else {
                throw new IllegalArgumentException("calibration path " + p + " does not exist");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read calibration path " + p, e);
        }
    }

    private static boolean isCalibrationFile(Path f) {
        String name = f.getFileName().toString();
        return Files.isRegularFile(f) && (name.endsWith(".txt") || name.endsWith(".jsonl"));
    }

    private static void readFile(Path f, List<Text> docs) throws IOException {
        String name = f.getFileName().toString();
        if (!name.endsWith(".jsonl")) {
            docs.add(new Text(name, Files.readString(f, StandardCharsets.UTF_8)));
            return;
        }
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            JsonNode row = JSON.readTree(lines.get(i));
            JsonNode text = row.get("text");
            String id = row.hasNonNull("id") ? row.get("id").asText() : name + ":" + (i + 1);
            // The demo corpus has deliberately empty and null rows; they are not calibration data.
            if (text == null || text.isNull() || text.asText().isEmpty()) {
                System.err.println("[pattern-search] skipping " + id + " in " + f + ": no text");
                continue;
            }
            docs.add(new Text(id, text.asText()));
        }
    }
}
