package io.prefill.settings;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * The command-line options of one application, each declared once with its name, value name,
 * default and one-line doc. The application parses its arguments from the table, {@code --help}
 * prints it, and the README's options tables are generated from it. An unknown option is refused
 * naming the closest known one. Every table also has the options common to all applications:
 * {@code --log-level}, {@code --verbose} and {@code --help}.
 */
public final class OptionTable {
    public static final String HELP = "--help";
    public static final String VERBOSE = "--verbose";
    public static final String LOG_LEVEL = "--log-level";
    public static final String DEFAULT_LOG_LEVEL = "WARN";

    /**
     * One option.
     *
     * @param name        e.g. {@code --input}
     * @param valueName   e.g. {@code PATH}; null for a flag
     * @param defaultText the default as documented; null for none (required options say so)
     * @param doc         one line
     */
    public record Option(String name, String valueName, String defaultText, String doc, boolean required,
                         boolean repeatable) {
        public boolean flag() { return valueName == null; }

        /** {@code --input PATH} or {@code --no-summary}. */
        public String synopsis() { return flag() ? name : name + " " + valueName; }
    }

    /** A positional argument (the few applications that take them). */
    public record Positional(String name, String doc) { }

    private final String usage;
    private final List<Option> options;
    private final List<Positional> positionals;
    private final Map<String, Option> byName = new LinkedHashMap<>();

    private OptionTable(String usage, List<Option> options, List<Positional> positionals) {
        this.usage = usage;
        this.options = List.copyOf(options);
        this.positionals = List.copyOf(positionals);
        for (Option o : this.options) {
            if (byName.put(o.name(), o) != null) throw new IllegalStateException("option " + o.name() + " declared twice");
        }
    }

    /** @param usage how the application is started, e.g. {@code spark-submit --class X job.jar [options]} */
    public static Builder builder(String usage) { return new Builder(usage); }

    public List<Option> options() { return options; }

    public List<Positional> positionals() { return positionals; }

    public Option option(String name) {
        Option o = byName.get(name);
        if (o == null) throw new IllegalStateException("option " + name + " is not in this table");
        return o;
    }

    /** Whether the arguments ask for help ({@code --help} or {@code -h}) anywhere. */
    public static boolean asksForHelp(String[] args) {
        for (String a : args) if (a.equals(HELP) || a.equals("-h")) return true;
        return false;
    }

    /** Parses arguments; anything wrong is a {@link UsageException} naming the option. */
    public Parsed parse(String[] args) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        List<String> positional = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h")) a = HELP;
            if (!a.startsWith("--")) {
                if (positional.size() >= positionals.size()) {
                    throw new UsageException("unexpected argument '" + a + "'" + (positionals.isEmpty()
                            ? " (every option starts with --)" : "; expected " + positionalNames()));
                }
                positional.add(a);
                continue;
            }
            String name = a;
            String inline = null;
            int eq = a.indexOf('=');
            if (eq > 0) {  // --name=value
                name = a.substring(0, eq);
                inline = a.substring(eq + 1);
            }
            Option o = byName.get(name);
            if (o == null) {
                throw new UsageException("unknown option " + name + Names.didYouMean(name, byName.keySet())
                        + " (--help lists every option)");
            }
            String value;
            if (o.flag()) {
                if (inline != null) throw new UsageException("option " + name + " takes no value");
                value = "";
            } else if (inline != null) {
                value = inline;
            } else {
                if (i + 1 >= args.length || byName.containsKey(args[i + 1])) {
                    throw new UsageException("option " + name + " needs a value (" + o.synopsis() + ")");
                }
                value = args[++i];
            }
            values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        if (positional.size() < positionals.size() && !values.containsKey(HELP)) {
            throw new UsageException("missing argument " + positionals.get(positional.size()).name()
                    + "; expected " + positionalNames());
        }
        return new Parsed(values, positional);
    }

    private String positionalNames() {
        return positionals.stream().map(Positional::name).collect(Collectors.joining(" "));
    }

    /** The text {@code --help} prints: the usage line and one line (wrapped) per option. */
    public String help() {
        StringBuilder b = new StringBuilder("usage: ").append(usage).append('\n');
        int width = 0;
        for (Positional p : positionals) width = Math.max(width, p.name().length());
        for (Option o : options) width = Math.max(width, o.synopsis().length());
        width = Math.min(width, 30) + 2;
        if (!positionals.isEmpty()) {
            b.append("\narguments:\n");
            for (Positional p : positionals) line(b, p.name(), p.doc(), width);
        }
        b.append("\noptions:\n");
        for (Option o : options) line(b, o.synopsis(), o.doc() + suffix(o), width);
        return b.toString();
    }

    private static String suffix(Option o) {
        if (o.required()) return " (required)";
        if (o.repeatable()) return " (repeatable)";
        if (o.defaultText() == null || o.flag()) return "";
        return " (default: " + o.defaultText() + ")";
    }

    private static void line(StringBuilder b, String left, String text, int width) {
        final int total = 100;
        String pad = " ".repeat(width + 2);
        StringBuilder row = new StringBuilder("  ").append(left);
        if (left.length() + 2 > width + 1) {
            b.append(row).append('\n');
            row = new StringBuilder(pad);
        } else {
            row.append(" ".repeat(width + 2 - row.length()));
        }
        for (String word : text.replace("`", "").split(" ")) {
            if (row.length() + word.length() + 1 > total && row.length() > pad.length()) {
                b.append(row.toString().stripTrailing()).append('\n');
                row = new StringBuilder(pad);
            }
            row.append(word).append(' ');
        }
        b.append(row.toString().stripTrailing()).append('\n');
    }

    /** A Markdown table (option, default, meaning) of the options the filter keeps. */
    public String markdown(Predicate<Option> keep) {
        StringBuilder b = new StringBuilder("| option | default | meaning |\n|---|---|---|\n");
        for (Option o : options) {
            if (!keep.test(o)) continue;
            String dflt = o.required() ? "required" : o.repeatable() ? "repeatable"
                    : o.flag() ? "off" : o.defaultText() == null ? "" : o.defaultText();
            b.append("| `").append(o.synopsis().replace("|", "\\|")).append("` | ").append(dflt.replace("|", "\\|"))
                    .append(" | ").append(o.doc().replace("|", "\\|")).append(" |\n");
        }
        return b.toString();
    }

    /** The builder: options in the order --help lists them; the common options come last. */
    public static final class Builder {
        private final String usage;
        private final List<Option> options = new ArrayList<>();
        private final List<Positional> positionals = new ArrayList<>();

        private Builder(String usage) { this.usage = usage; }

        public Builder required(String name, String valueName, String doc) {
            options.add(new Option(name, valueName, null, doc, true, false));
            return this;
        }

        /** @param defaultText the default as documented, or null when unset means "none" */
        public Builder option(String name, String valueName, String defaultText, String doc) {
            options.add(new Option(name, valueName, defaultText, doc, false, false));
            return this;
        }

        public Builder repeatable(String name, String valueName, String doc) {
            options.add(new Option(name, valueName, null, doc, false, true));
            return this;
        }

        public Builder flag(String name, String doc) {
            options.add(new Option(name, null, null, doc, false, false));
            return this;
        }

        public Builder positional(String name, String doc) {
            positionals.add(new Positional(name, doc));
            return this;
        }

        public OptionTable build() {
            List<Option> all = new ArrayList<>(options);
            all.add(new Option(LOG_LEVEL, "LEVEL", DEFAULT_LOG_LEVEL,
                    "log level of Spark and the libraries: ERROR, WARN, INFO or DEBUG", false, false));
            all.add(new Option(VERBOSE, null, null, "on failure, print the stack trace as well as the one-line message",
                    false, false));
            all.add(new Option(HELP, null, null, "print this list and exit", false, false));
            return new OptionTable(usage, all, positionals);
        }
    }

    /** Parsed arguments; typed getters fail with a {@link UsageException} naming the option. */
    public final class Parsed {
        private final Map<String, List<String>> values;
        private final List<String> positional;

        private Parsed(Map<String, List<String>> values, List<String> positional) {
            this.values = values;
            this.positional = positional;
        }

        /** Whether the option was given (a flag: set). */
        public boolean has(String name) {
            option(name);
            return values.containsKey(name);
        }

        /** The option's value (the last one if given more than once), or null. */
        public String value(String name) {
            option(name);
            List<String> v = values.get(name);
            return v == null ? null : v.get(v.size() - 1);
        }

        public String value(String name, String dflt) {
            String v = value(name);
            return v == null ? dflt : v;
        }

        /** Every value of a repeatable option, in order. */
        public List<String> values(String name) {
            option(name);
            return Collections.unmodifiableList(values.getOrDefault(name, List.of()));
        }

        /** The names of the options given, in order of first appearance. */
        public List<String> given() { return List.copyOf(values.keySet()); }

        public List<String> positionals() { return List.copyOf(positional); }

        public String required(String name) {
            String v = value(name);
            if (v == null || v.isBlank()) throw new UsageException("missing required option " + option(name).synopsis());
            return v;
        }

        public int integer(String name, int dflt, int min) {
            long v = longValue(name, dflt, min);
            if (v > Integer.MAX_VALUE) throw new UsageException("option " + name + " is too large: " + v);
            return (int) v;
        }

        public long longValue(String name, long dflt, long min) {
            String v = value(name);
            if (v == null) return dflt;
            long x;
            try {
                x = Long.parseLong(v.trim());
            } catch (NumberFormatException e) {
                throw new UsageException("option " + name + " expects an integer, got '" + v + "'");
            }
            if (x < min) throw new UsageException("option " + name + " must be at least " + min + ", got " + x);
            return x;
        }

        public double number(String name, double dflt) {
            String v = value(name);
            if (v == null) return dflt;
            try {
                return Double.parseDouble(v.trim());
            } catch (NumberFormatException e) {
                throw new UsageException("option " + name + " expects a number, got '" + v + "'");
            }
        }

        public boolean bool(String name, boolean dflt) {
            String v = value(name);
            if (v == null) return dflt;
            return switch (v.trim().toLowerCase(Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new UsageException("option " + name + " expects true or false, got '" + v + "'");
            };
        }

        /** An enum constant by its lower-case, dashed name ({@code first-token} for FIRST_TOKEN). */
        public <E extends Enum<E>> E choice(String name, Class<E> type, E dflt) {
            String v = value(name);
            return v == null ? dflt : OptionTable.choice(name, type, v);
        }

        /** KEY=VALUE pairs of a repeatable option such as --conf. */
        public Map<String, String> keyValues(String name) {
            Map<String, String> out = new LinkedHashMap<>();
            for (String v : values(name)) {
                int eq = v.indexOf('=');
                if (eq <= 0) throw new UsageException("option " + name + " expects KEY=VALUE, got '" + v + "'");
                out.put(v.substring(0, eq), v.substring(eq + 1));
            }
            return out;
        }
    }

    /** An enum constant named by an option value; the message lists the allowed values. */
    public static <E extends Enum<E>> E choice(String name, Class<E> type, String v) {
        for (E c : type.getEnumConstants()) {
            if (c.name().equalsIgnoreCase(v.trim().replace('-', '_'))) return c;
        }
        throw new UsageException("option " + name + ": '" + v + "' is not one of " + choices(type));
    }

    /** The documented spellings of an enum's constants: lower case, dashes. */
    public static <E extends Enum<E>> List<String> choices(Class<E> type) {
        List<String> out = new ArrayList<>();
        for (E c : type.getEnumConstants()) out.add(c.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        return out;
    }
}
