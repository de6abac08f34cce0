package io.prefill.settings;

import org.apache.spark.SparkConf;
import org.apache.spark.network.util.JavaUtils;

import java.util.Locale;
import java.util.function.Function;

/**
 * One setting: a {@code spark.prefill.*} Spark setting or a {@code prefill.*} JVM system property,
 * with its type, default and one-line doc. A value that does not parse fails naming the key.
 *
 * @param <T> the value's type
 */
public final class Setting<T> {
    /** Where a setting is read from. */
    public enum Scope { SPARK_CONF, JVM_PROPERTY }

    /** Who sets it: users of the job, people debugging the CUDA backend, or the test suites. */
    public enum Audience { USER, DEBUG, TEST }

    private final String key;
    private final Scope scope;
    private final Audience audience;
    private final String type;
    private final T defaultValue;
    private final String defaultText;
    private final String doc;
    private final Function<String, T> parser;

    private Setting(String key, Scope scope, Audience audience, String type, T defaultValue, String defaultText,
                    String doc, Function<String, T> parser) {
        this.key = key;
        this.scope = scope;
        this.audience = audience;
        this.type = type;
        this.defaultValue = defaultValue;
        this.defaultText = defaultText;
        this.doc = doc;
        this.parser = parser;
    }

    public String key() { return key; }

    public Scope scope() { return scope; }

    public Audience audience() { return audience; }

    /** The type as documented: {@code string}, {@code int}, {@code bytes}, {@code boolean}. */
    public String type() { return type; }

    public T defaultValue() { return defaultValue; }

    /** The default as documented (may describe a computed default). */
    public String defaultText() { return defaultText; }

    public String doc() { return doc; }

    /** The value of raw text: the default when null or blank; a value that does not parse fails naming the key. */
    public T parse(String raw) {
        if (raw == null || raw.isBlank()) return defaultValue;
        try {
            return parser.apply(raw.trim());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(key + " expects " + type + ", got '" + raw + "'"
                    + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"), e);
        }
    }

    /** A Spark setting's value in conf (null conf: outside Spark, the default). */
    public T get(SparkConf conf) {
        if (scope != Scope.SPARK_CONF) throw new IllegalStateException(key + " is a JVM system property, not a Spark setting");
        return parse(conf == null ? null : conf.get(key, null));
    }

    /** A JVM system property's value. */
    public T get() {
        if (scope != Scope.JVM_PROPERTY) throw new IllegalStateException(key + " is a Spark setting, not a JVM property");
        return parse(System.getProperty(key));
    }

    @Override
    public String toString() { return key; }

    static Setting<String> string(String key, Scope scope, Audience audience, String defaultValue, String defaultText,
                                  String doc) {
        return new Setting<>(key, scope, audience, "string", defaultValue, defaultText, doc, s -> s);
    }

    static Setting<Integer> index(String key, Scope scope, Audience audience, Integer defaultValue, String defaultText,
                                  String doc) {
        return new Setting<>(key, scope, audience, "int >= 0", defaultValue, defaultText, doc, s -> {
            int v = Integer.parseInt(s);
            if (v < 0) throw new IllegalArgumentException("negative");
            return v;
        });
    }

    static Setting<Long> bytes(String key, Scope scope, Audience audience, long defaultValue, String defaultText,
                               String doc) {
        return new Setting<>(key, scope, audience, "bytes", defaultValue, defaultText, doc, s -> {
            long v = JavaUtils.byteStringAsBytes(s);
            if (v < 0) throw new IllegalArgumentException("negative");
            return v;
        });
    }

    static Setting<Boolean> bool(String key, Scope scope, Audience audience, String doc) {
        return new Setting<>(key, scope, audience, "boolean", false, "false", doc, s ->
                switch (s.toLowerCase(Locale.ROOT)) {
                    case "true" -> true;
                    case "false" -> false;
                    default -> throw new IllegalArgumentException("true or false");
                });
    }
}
