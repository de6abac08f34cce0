package io.prefill.testing;

import io.prefill.settings.PrefillSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Optional reference data (real tokenizers, published pattern configs) kept in a folder named
 * {@code shared} beside the repository checkout, or wherever {@code -Dprefill.shared=DIR} points.
 * Users of the product do not have it, so every test that reads it skips when it is absent.
 */
public final class SharedData {
    private SharedData() { }

    /** The shared folder, if there is one. */
    public static Optional<Path> root() {
        String configured = PrefillSettings.TEST_SHARED.get();
        if (configured == null) configured = System.getenv("PREFILL_SHARED");
        if (configured != null && !configured.isBlank()) {
            Path p = Path.of(configured);
            return Files.isDirectory(p) ? Optional.of(p) : Optional.empty();
        }
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            if (Files.isRegularFile(dir.resolve("pom.xml")) && Files.isDirectory(dir.resolve("gpu-udf"))) {
                Path shared = dir.resolveSibling("shared");
                return Files.isDirectory(shared) ? Optional.of(shared) : Optional.empty();
            }
            dir = dir.getParent();
        }
        return Optional.empty();
    }

    /** A path inside the shared folder, if the folder and the path exist. */
    public static Optional<Path> find(String relative) {
        return root().map(r -> r.resolve(relative)).filter(Files::exists);
    }
}
