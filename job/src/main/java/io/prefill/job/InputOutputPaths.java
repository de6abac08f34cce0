package io.prefill.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Refuses, before any work, an output that is the input, lies inside it or contains it: with
 * --write-mode overwrite Spark deletes the output first, which would delete the corpus, and an
 * output inside the input would be read back as input by the next run. Paths are compared fully
 * qualified (scheme, authority, normalised path), and an input glob by every path it matches.
 */
final class InputOutputPaths {
    private InputOutputPaths() { }

    static void check(JobOptions o, Configuration conf) {
        List<String> outputs = new ArrayList<>();
        outputs.add(o.output());
        if (o.kvOutput() != null) outputs.add(o.kvOutput());
        try {
            List<Path> inputs = inputs(o.input(), conf);
            for (String output : outputs) {
                Path out = qualified(output, conf);
                for (Path in : inputs) {
                    String problem = out.equals(in) ? "is the input" : inside(out, in) ? "lies inside the input"
                            : inside(in, out) ? "contains the input" : null;
                    if (problem != null) {
                        throw new IllegalArgumentException("output " + output + " " + problem + " " + in
                                + ": writing it could destroy the corpus (--write-mode overwrite deletes the output"
                                + " first) or mix results into it; choose an output outside the input");
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot compare --input " + o.input() + " with the output: " + e.getMessage(), e);
        }
    }

    /** The input as written and, where it is a glob, every path it matches now. */
    private static List<Path> inputs(String input, Configuration conf) throws IOException {
        Path in = qualified(input, conf);
        List<Path> out = new ArrayList<>();
        out.add(in);
        FileStatus[] matches = in.getFileSystem(conf).globStatus(in);
        if (matches != null) for (FileStatus m : matches) out.add(qualified(m.getPath().toString(), conf));
        return out;
    }

    private static Path qualified(String path, Configuration conf) throws IOException {
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(conf);
        return fs.makeQualified(p);
    }

    /** Whether child lies strictly below parent. */
    private static boolean inside(Path child, Path parent) {
        for (Path p = child.getParent(); p != null; p = p.getParent()) if (p.equals(parent)) return true;
        return false;
    }
}
