package io.prefill.kv;

import io.prefill.model.ModelConfig;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * "name@hash": the model directory's name and the first 12 hex digits of the SHA-256 of its
 * normalised config, so two checkpoints of the same name but different shapes never match.
 */
public final class ModelIdentity {
    private ModelIdentity() { }

    public static String of(String modelUriOrPath, ModelConfig config) {
        return nameOf(modelUriOrPath) + "@" + configHash(config);
    }

    static String nameOf(String uri) {
        String s = uri.replaceAll("/+$", "");
        int slash = s.lastIndexOf('/');
        return slash >= 0 ? s.substring(slash + 1) : s;
    }

    static String configHash(ModelConfig config) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(config.toJson().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }
}
