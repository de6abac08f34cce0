/**
 * Every setting of the project in one place: the {@code spark.prefill.*} Spark settings and the
 * {@code prefill.*} JVM system properties ({@link io.prefill.settings.PrefillSettings}), and the
 * command-line option tables the applications parse from ({@link io.prefill.settings.OptionTable}).
 * Each has its name, type, default and a one-line doc, from which {@code --help} and the README's
 * tables are generated. The lowest package: it uses no other io.prefill package.
 */
package io.prefill.settings;
