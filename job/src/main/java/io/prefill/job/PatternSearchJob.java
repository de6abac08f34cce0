package io.prefill.job;

import io.prefill.cuda.CudaAvailability;
import io.prefill.cuda.forward.CudaBackendOptions;
import io.prefill.cuda.search.GpuCalibrationScorer;
import io.prefill.job.cli.Cli;
import io.prefill.job.cli.ClusterException;
import io.prefill.job.search.CalibrationReader;
import io.prefill.job.search.SearchJobOptions;
import io.prefill.model.LoadedModel;
import io.prefill.search.CalibrationDocument;
import io.prefill.search.PatternSearch;
import io.prefill.search.SearchOptions;
import io.prefill.search.SearchOutcome;
import io.prefill.search.SearchReport;
import io.prefill.search.SearchedConfigWriter;
import io.prefill.sparse.PatternConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Offline pattern search, a spark-submit main that runs on the driver, on the CPU reference or
 * (--backend cuda) on the driver's GPU: reads the calibration documents, pre-fills them dense, searches every layer and head
 * for the pattern that best matches dense at the target cost, and writes the config (our schema,
 * per-head scores) and a Markdown report next to it. A search needs a few documents, not a
 * corpus, so no executors are used.
 */
public final class PatternSearchJob {
    private PatternSearchJob() { }

    /** Exit codes and one-line errors as {@link Cli} describes. */
    public static void main(String[] args) {
        Cli.main("pattern-search", SearchJobOptions.TABLE, args, a -> {
            SearchJobOptions o = SearchJobOptions.parse(a);
            SearchOutcome outcome = run(o);
            System.out.printf(Locale.ROOT, "[pattern-search] %d layers x %d heads in %.1f s; config %s, report %s%n",
                outcome.config().numLayers(), outcome.config().numHeads(), outcome.seconds(),
                o.output(), o.report());
            return Cli.OK;
        });
    }

    /** The whole application without exiting: for tests and callers in the same JVM. */
    public static SearchOutcome run(SearchJobOptions o) throws IOException {
        List<CalibrationReader.Text> texts = CalibrationReader.read(o.calibration());
        try (LoadedModel model = LoadedModel.open(o.model())) {
            PatternConfig pinned = o.pinned() == null ? null : PatternConfig.read(o.pinned());
            List<CalibrationDocument> docs = new ArrayList<>();
            for (CalibrationReader.Text t : texts) docs.add(new CalibrationDocument(t.id(), tokens(model, t, o.maxTokens())));
            System.out.println("[pattern-search] " + docs.size() + " calibration document(s), tokens "
                + docs.stream().map(d -> d.tokens().length).toList() + ", target cost " + o.targetCost());
            SearchOptions options = new SearchOptions(o.targetCost(), o.minSparseLength(), Math.max(1, o.recallRows()),
                0.1, o.families(), o.scoredRows());
            SearchOutcome outcome;
            String pinnedSource = o.pinned() == null ? null : o.pinned().toString();
            if (o.backend().equals("cuda")) {
                // bad input fails before the weights go to the device
                PatternSearch.checkInputs(model.config(), docs, options, pinned, pinnedSource);
                CudaAvailability cuda = CudaAvailability.probe();
                if (!cuda.available()) throw new ClusterException("--backend cuda: " + cuda.reason());
                try (GpuCalibrationScorer scorer = GpuCalibrationScorer.open(o.modelName(), model.config(), model.weights(),
                        CudaBackendOptions.defaults().onDevice(o.device()))) {
                    outcome = PatternSearch.run(o.modelName(), model.config(), scorer, docs, options, pinned, pinnedSource);
                }
            } else {
                outcome = PatternSearch.run(o.modelName(), model.config(), model.weights(), docs, options, pinned,
                    pinnedSource);
            }
            SearchedConfigWriter.write(outcome, o.output());
            SearchReport.write(outcome, o.report());
            PatternConfig.read(o.output()).validateFor(model.config().numLayers(), model.config().numHeads(),
                o.output().toString());
            return outcome;
        }
    }

    /** The document's tokens, the first maxTokens of them when maxTokens > 0. */
    private static int[] tokens(LoadedModel model, CalibrationReader.Text t, int maxTokens) {
        int[] ids = model.tokenizer().encode(t.text());
        return maxTokens > 0 && ids.length > maxTokens ? Arrays.copyOf(ids, maxTokens) : ids;
    }
}
