package io.prefill.job.report;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportOptionsTest {
    @Test
    void parsesEveryOption() {
        ReportOptions o = ReportOptions.parse(new String[]{"--input", "out.parquet", "--patterns", "p.json",
            "--report-dir", "r", "--master", "local[2]", "--conf", "spark.ui.enabled=false"});
        assertEquals("out.parquet", o.input());
        assertEquals("p.json", o.patterns());
        assertEquals(Path.of("r"), o.reportDir());
        assertEquals("local[2]", o.master());
        assertEquals(Map.of("spark.ui.enabled", "false"), o.sparkConf());
    }

    @Test
    void patternsAreOptionalAndTheReportDirHasADefault() {
        ReportOptions o = ReportOptions.parse(new String[]{"--input", "out.parquet"});
        assertNull(o.patterns());
        assertEquals(Path.of("report"), o.reportDir());
    }

    @Test
    void wrongArgumentsSayWhatIsWrong() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ReportOptions.parse(new String[]{}))
                .getMessage().contains("missing required option --input"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> ReportOptions.parse(new String[]{"--input", "x", "--colour", "red"})).getMessage().contains("--colour"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> ReportOptions.parse(new String[]{"--input"})).getMessage().contains("needs a value"));
    }
}
