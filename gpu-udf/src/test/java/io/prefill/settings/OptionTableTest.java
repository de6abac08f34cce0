package io.prefill.settings;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptionTableTest {
    enum Mode { FIRST_TOKEN, BOTH }

    private static final OptionTable TABLE = OptionTable.builder("app [options]")
            .required("--input", "PATH", "the input")
            .option("--top-k", "K", "5", "alternatives kept")
            .option("--mode", "M", "`first-token`", "what to write")
            .repeatable("--conf", "KEY=VALUE", "a setting")
            .flag("--no-summary", "no table")
            .build();

    @Test
    void valuesFlagsRepeatsAndDefaults() {
        OptionTable.Parsed p = TABLE.parse(new String[]{"--input", "a", "--conf", "x=1", "--conf=y=2=3", "--no-summary",
            "--top-k=7", "--mode", "both"});
        assertEquals("a", p.required("--input"));
        assertEquals(7, p.integer("--top-k", 5, 1));
        assertEquals(Mode.BOTH, p.choice("--mode", Mode.class, Mode.FIRST_TOKEN));
        assertEquals(Map.of("x", "1", "y", "2=3"), p.keyValues("--conf"));
        assertTrue(p.has("--no-summary"));
        OptionTable.Parsed d = TABLE.parse(new String[]{"--input", "a"});
        assertEquals(5, d.integer("--top-k", 5, 1));
        assertNull(d.value("--mode"));
        assertFalse(d.has("--no-summary"));
        assertEquals(List.of(), d.values("--conf"));
    }

    @Test
    void aMisspelledOptionNamesTheClosestOne() {
        UsageException e = assertThrows(UsageException.class, () -> TABLE.parse(new String[]{"--inptu", "a"}));
        assertEquals("unknown option --inptu; did you mean --input? (--help lists every option)", e.getMessage());
        e = assertThrows(UsageException.class, () -> TABLE.parse(new String[]{"--colour", "red"}));
        assertEquals("unknown option --colour (--help lists every option)", e.getMessage());
    }

    @Test
    void wrongValuesNameTheOption() {
        assertMessage("option --top-k needs a value (--top-k K)", "--input", "a", "--top-k");
        assertMessage("option --top-k needs a value (--top-k K)", "--top-k", "--input", "a");
        assertMessage("option --top-k expects an integer, got 'many'", "--input", "a", "--top-k", "many");
        assertMessage("option --top-k must be at least 1, got 0", "--input", "a", "--top-k", "0");
        assertMessage("option --mode: 'all' is not one of [first-token, both]", "--input", "a", "--mode", "all");
        assertMessage("option --conf expects KEY=VALUE, got 'novalue'", "--input", "a", "--conf", "novalue");
        assertMessage("option --no-summary takes no value", "--input", "a", "--no-summary=yes");
        assertMessage("missing required option --input PATH");
        assertMessage("unexpected argument 'stray' (every option starts with --)", "--input", "a", "stray");
    }

    private static void assertMessage(String expected, String... args) {
        UsageException e = assertThrows(UsageException.class, () -> {
            OptionTable.Parsed p = TABLE.parse(args);
            p.required("--input");
            p.integer("--top-k", 5, 1);
            p.choice("--mode", Mode.class, Mode.FIRST_TOKEN);
            p.keyValues("--conf");
        });
        assertEquals(expected, e.getMessage());
    }

    @Test
    void helpListsEveryOptionWithItsDefaultAndTheCommonOnes() {
        String help = TABLE.help();
        assertTrue(help.startsWith("usage: app [options]\n"), help);
        for (OptionTable.Option o : TABLE.options()) assertTrue(help.contains("  " + o.synopsis() + " "), o.name());
        assertTrue(help.contains("the input (required)"), help);
        assertTrue(help.contains("alternatives kept (default: 5)"), help);
        assertTrue(help.contains("what to write (default: first-token)"), help);  // no Markdown in the terminal
        for (String common : List.of("--help", "--verbose", "--log-level LEVEL")) assertTrue(help.contains(common), common);
        assertTrue(OptionTable.asksForHelp(new String[]{"--input", "a", "-h"}));
        assertFalse(OptionTable.asksForHelp(new String[]{"--input", "a"}));
        // --help parses even without the required options
        assertTrue(TABLE.parse(new String[]{"--help"}).has(OptionTable.HELP));
    }

    @Test
    void markdownHasOneRowPerKeptOption() {
        String md = TABLE.markdown(o -> !o.name().equals("--help"));
        assertTrue(md.startsWith("| option | default | meaning |\n|---|---|---|\n"), md);
        assertTrue(md.contains("| `--input PATH` | required | the input |"), md);
        assertTrue(md.contains("| `--top-k K` | 5 | alternatives kept |"), md);
        assertTrue(md.contains("| `--conf KEY=VALUE` | repeatable | a setting |"), md);
        assertFalse(md.contains("--help"), md);
        assertEquals(TABLE.options().size() - 1, md.lines().count() - 2);
    }

    @Test
    void positionalArguments() {
        OptionTable t = OptionTable.builder("plan CARD BUDGET").positional("CARD", "card GiB").positional("BUDGET", "GiB")
                .build();
        assertEquals(List.of("80", "48"), t.parse(new String[]{"80", "48"}).positionals());
        assertEquals("missing argument BUDGET; expected CARD BUDGET",
                assertThrows(UsageException.class, () -> t.parse(new String[]{"80"})).getMessage());
        assertEquals("unexpected argument '1'; expected CARD BUDGET",
                assertThrows(UsageException.class, () -> t.parse(new String[]{"80", "48", "1"})).getMessage());
    }
}
