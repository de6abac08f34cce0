package io.prefill.testing;

import io.prefill.model.ModelConfig;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The published config.json files kept as test resources under {@code model-configs/} (see its README). */
public final class PublishedConfigs {
    public static final String PHI3_MINI_128K = "phi-3-mini-128k-instruct.config.json";
    public static final String GLM4_9B_CHAT_1M = "glm-4-9b-chat-1m-hf.config.json";

    private PublishedConfigs() { }

    /** The resource's path. */
    public static Path file(String name) {
        URL url = PublishedConfigs.class.getResource("/model-configs/" + name);
        if (url == null) throw new IllegalArgumentException("no test resource model-configs/" + name);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(url + ": not a file", e);
        }
    }

    /** The config read by the engine's own reader. */
    public static ModelConfig read(String name) {
        return ModelConfig.read(file(name));
    }
}
