package io.prefill.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the files of a model directory may lead. A model directory is one unit: localized, checked
 * and cached together, so a symbolic link out of it (weights of another model, a half-assembled
 * copy) is refused. Links are followed when their target lies inside the directory, and in the
 * Hugging Face cache layout, where every file of {@code <repo>/snapshots/<revision>/} is a link into
 * the same repository's {@code blobs/} folder ({@code ../../blobs/<hash>}).
 */
final class ModelFileLinks {
    static final String SNAPSHOTS = "snapshots";
    static final String BLOBS = "blobs";

    private ModelFileLinks() { }

    /**
     * Checks a file of the model directory (or a path named by one of its files, such as a shard
     * in the index). A file that does not exist passes: the caller reports it as missing.
     *
     * @throws ModelFormatException when the file, through links or "..", leads outside
     */
    static void check(Path directory, Path file) {
        if (!Files.exists(file)) return;
        Path dir;
        Path target;
        try {
            dir = directory.toRealPath();
            target = file.toRealPath();
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot resolve (" + e + ")", e);
        }
        if (target.startsWith(dir) || inHuggingFaceBlobs(dir, target)) return;
        throw new ModelFormatException(file + ": leads to " + target + ", outside the model directory " + dir
                + " (links are followed within the model directory, and from a Hugging Face cache snapshot into its"
                + " repository's " + BLOBS + "/ folder)");
    }

    /** dir is {@code <repo>/snapshots/<revision>} and target lies in {@code <repo>/blobs/}. */
    private static boolean inHuggingFaceBlobs(Path dir, Path target) {
        Path snapshots = dir.getParent();
        if (snapshots == null || snapshots.getFileName() == null || !SNAPSHOTS.equals(snapshots.getFileName().toString())) {
            return false;
        }
        Path repo = snapshots.getParent();
        return repo != null && target.startsWith(repo.resolve(BLOBS));
    }
}
