package io.prefill.job.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** index.html: the summary tables with the charts embedded beside the page (relative links). */
final class ReportPage {
    /** A chart on the page: its file in the report folder, what it shows, and why it is missing (or null). */
    record Figure(String file, String caption, String notDrawn) { }

    private ReportPage() { }

    static void write(Path file, String output, String patterns, OutputSummary s, List<Figure> figures,
                      List<FirstTokenSample.Answer> answers) throws IOException {
        StringBuilder h = new StringBuilder(8192);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Pre-fill report</title>\n")
         .append("<style>body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}")
         .append("table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 10px}")
         .append("th{background:#f3f3f3;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}")
         .append("img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}code{background:#f5f5f5}</style>\n")
         .append("</head><body>\n<h1>Pre-fill report</h1>\n");
        h.append("<p>Output <code>").append(esc(output)).append("</code>");
        if (patterns != null) h.append(", pattern config <code>").append(esc(patterns)).append("</code>");
        h.append(".</p>\n");

        h.append("<h2>Summary</h2>\n<table>\n");
        row(h, "documents", fmt("%,d", s.documents()));
        row(h, "pre-filled without error", fmt("%,d", s.succeeded()));
        row(h, "errors", fmt("%,d", s.errors()));
        row(h, "prompt tokens (documents without error)", fmt("%,d", s.promptTokens()));
        row(h, "tokens cut by the length policy", fmt("%,d", s.droppedTokens()));
        h.append("</table>\n");

        if (!s.series().isEmpty()) {
            h.append("<h3>Timings per backend</h3>\n<table>\n<tr><th>backend</th><th>documents</th>")
             .append("<th>median pre-fill (ms)</th><th>p90 pre-fill (ms)</th><th>tokens/s</th>")
             .append("<th>median attention density</th></tr>\n");
            for (OutputSummary.SeriesTiming t : s.series()) {
                h.append("<tr><td>").append(esc(t.series())).append("</td>")
                 .append(num(fmt("%,d", t.documents())))
                 .append(num(fmt("%,.1f", t.medianMs())))
                 .append(num(fmt("%,.1f", t.p90Ms())))
                 .append(num(fmt("%,.0f", t.tokensPerSecond())))
                 .append(num(fmt("%.2f%%", t.medianDensity() * 100))).append("</tr>\n");
            }
            h.append("</table>\n");
        }

        h.append("<h3>Errors by kind</h3>\n");
        if (s.errorsByKind().isEmpty()) {
            h.append("<p>No errors.</p>\n");
        } else {
            h.append("<table>\n<tr><th>error_kind</th><th>documents</th></tr>\n");
            for (Map.Entry<String, Long> e : s.errorsByKind().entrySet()) {
                h.append("<tr><td>").append(esc(e.getKey())).append("</td>")
                 .append(num(fmt("%,d", e.getValue()))).append("</tr>\n");
            }
            h.append("</table>\n");
        }

        h.append("<h2>Charts</h2>\n");
        for (Figure f : figures) {
            if (f.notDrawn() != null) {
                h.append("<p>").append(esc(f.caption())).append(" Not drawn: ").append(esc(f.notDrawn())).append(".</p>\n");
                continue;
            }
            h.append("<figure><a href=\"").append(esc(f.file())).append("\"><img src=\"").append(esc(f.file()))
             .append("\" alt=\"").append(esc(f.caption())).append("\"></a><figcaption>").append(esc(f.caption()))
             .append("</figcaption></figure>\n");
        }

        if (!answers.isEmpty()) {
            h.append("<h2>Least confident first tokens</h2>\n<p>The ").append(answers.size())
             .append(" documents whose greedy first token had the lowest probability.</p>\n<table>\n")
             .append("<tr><th>id</th><th>prompt tokens</th><th>first token</th><th>probability</th>")
             .append("<th>top-k alternatives (probability)</th></tr>\n");
            for (FirstTokenSample.Answer a : answers) {
                h.append("<tr><td>").append(esc(a.id())).append("</td>")
                 .append(num(fmt("%,d", a.promptTokens())))
                 .append("<td><code>").append(esc(a.text())).append("</code></td>")
                 .append(num(fmt("%.3f", a.probability())))
                 .append("<td><code>").append(esc(String.join("  ", a.alternatives()))).append("</code></td></tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("</body></html>\n");
        Files.writeString(file, h, StandardCharsets.UTF_8);
    }

    /** Fixed locale: the page reads the same wherever the report was made. */
    private static String fmt(String format, Object... args) { return String.format(Locale.ROOT, format, args); }

    private static void row(StringBuilder h, String name, String value) {
        h.append("<tr><th>").append(esc(name)).append("</th>").append(num(value)).append("</tr>\n");
    }

    private static String num(String value) { return "<td class=\"n\">" + esc(value) + "</td>"; }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
