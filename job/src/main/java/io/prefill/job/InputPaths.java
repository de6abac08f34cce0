package io.prefill.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/** The corpus path, checked before any work: that it exists, and what format a bare folder holds. */
final class InputPaths {
    private InputPaths() { }

    /** Fails naming the path when nothing exists there (a glob must match something). */
    static void checkExists(Configuration hadoop, String input) {
        FileStatus[] found = glob(hadoop, input);
        if (found == null || found.length == 0) {
            throw new IllegalArgumentException("input " + input + " does not exist");
        }
    }

    /**
     * The format of an input that neither --input-format nor its extension named, from the files the
     * path (a folder, or a glob's matches) holds: only {@code .txt} files is text, only {@code .jsonl} or
     * {@code .json} files is JSON lines, anything else Parquet. A folder holding more than one of these
     * kinds (Parquet included) is refused, naming what it holds. Names that start with {@code _} or {@code .}
     * (a job's {@code _prefill_summary.json}, checksum files) are hidden, as Spark's readers treat them.
     */
    static JobOptions.InputFormat recognise(Configuration hadoop, String input) {
        FileStatus[] found = glob(hadoop, input);
        if (found == null) return JobOptions.InputFormat.PARQUET;
        Map<JobOptions.InputFormat, Integer> kinds = new EnumMap<>(JobOptions.InputFormat.class);
        try {
            for (FileStatus s : found) {
                FileStatus[] files = s.isDirectory() ? s.getPath().getFileSystem(hadoop).listStatus(s.getPath())
                        : new FileStatus[]{s};
                for (FileStatus f : files) {
                    JobOptions.InputFormat kind = kindOf(f.getPath().getName());
                    if (kind != null && (f.isFile() || kind == JobOptions.InputFormat.PARQUET)) kinds.merge(kind, 1, Integer::sum);
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list input " + input + ": " + e.getMessage(), e);
        }
        if (kinds.size() > 1) {
            StringJoiner held = new StringJoiner(", ");
            kinds.forEach((kind, n) -> held.add(n + " " + kind.name().toLowerCase(Locale.ROOT)));
            throw new IllegalArgumentException("input " + input + " holds files of more than one format (" + held
                    + "): name the one to read with --input-format, or point --input at one kind");
        }
        return kinds.isEmpty() ? JobOptions.InputFormat.PARQUET : kinds.keySet().iterator().next();
    }

    private static JobOptions.InputFormat kindOf(String fileName) {
        String name = fileName.toLowerCase(Locale.ROOT);
        if (name.startsWith("_") || name.startsWith(".")) return null;  // hidden, as Spark's readers see it
        if (name.endsWith(".txt")) return JobOptions.InputFormat.TEXT;
        if (name.endsWith(".jsonl") || name.endsWith(".json")) return JobOptions.InputFormat.JSONL;
        if (name.endsWith(".parquet")) return JobOptions.InputFormat.PARQUET;
        return null;
    }

    private static FileStatus[] glob(Configuration hadoop, String input) {
        try {
            Path p = new Path(input);
            return p.getFileSystem(hadoop).globStatus(p);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot read input path " + input + ": " + e.getMessage(), e);
        }
    }
}
