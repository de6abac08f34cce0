package io.prefill.search;

import io.prefill.cuda.CudaAvailability;
import io.prefill.cuda.forward.CudaBackendOptions;
import io.prefill.cuda.search.GpuCalibrationScorer;
import io.prefill.model.ModelConfig;
import io.prefill.model.SafetensorsModelWeights;
import io.prefill.model.WeightStore;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The planted-pattern model searched on the device: every head recovered, as on the CPU. */
@Tag("gpu")
class PlantedModelGpuSearchTest {
    @TempDir
    Path dir;

    @Test
    void searchOnTheGpuRecoversEveryPlantedHead() {
        CudaAvailability a = CudaAvailability.probe();
        Assumptions.assumeTrue(a.available(), () -> "CUDA backend unavailable: " + a.reason());
        PlantedPatternModel.Planted planted = PlantedPatternModel.write(dir.resolve("planted"));
        ModelConfig config = ModelConfig.read(planted.dir().resolve("config.json"));
        try (WeightStore store = WeightStore.open(planted.dir());
             GpuCalibrationScorer scorer = GpuCalibrationScorer.open("planted", config,
                 SafetensorsModelWeights.bind(config, store), CudaBackendOptions.defaults())) {
            SearchOutcome outcome = PatternSearch.run("planted", config, scorer, planted.documents(), planted.options(),
                null, null);
            assertEquals("cuda", outcome.backend());
            PlantedModelSearchTest.assertRecovered(planted, outcome);
        }
    }
}
