package io.prefill.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.Locale;

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
     * The format of an input that neither --input-format nor its extension named: text when the path
     * (a folder, or a glob's matches) holds {@code .txt} files and no Parquet files, else Parquet.
     */
    static JobOptions.InputFormat recognise(Configuration hadoop, String input) {
        FileStatus[] found = glob(hadoop, input);
        if (found == null) return JobOptions.InputFormat.PARQUET;
        boolean text = false;
        boolean parquet = false;
        try {
            for (FileStatus s : found) {
                FileStatus[] files = s.isDirectory() ? s.getPath().getFileSystem(hadoop).listStatus(s.getPath())
                        : new FileStatus[]{s};
                for (FileStatus f : files) {
                    String name = f.getPath().getName().toLowerCase(Locale.ROOT);
                    text |= f.isFile() && name.endsWith(".txt");
                    parquet |= name.endsWith(".parquet");
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list input " + input + ": " + e.getMessage(), e);
        }
        return text && !parquet ? JobOptions.InputFormat.TEXT : JobOptions.InputFormat.PARQUET;
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
