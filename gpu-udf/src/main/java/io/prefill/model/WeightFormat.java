package io.prefill.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How the linear projections are held when a model is loaded. */
public enum WeightFormat {
    /** As the checkpoint stores them (bf16, fp16 or f32; FP8 for an FP8 checkpoint). */
    AS_STORED("bf16"),
    /** FP8 E4M3 with one scale per output channel, quantised at load unless the checkpoint is already FP8. */
    FP8("fp8");

    private final String optionValue;

    WeightFormat(String optionValue) { this.optionValue = optionValue; }

    /** The value of the {@code --weights} option that selects it. */
    public String optionValue() { return optionValue; }

    /** The format an option value names; an IllegalArgumentException listing the values otherwise. */
    public static WeightFormat ofOption(String value) {
        for (WeightFormat f : values()) if (f.optionValue.equals(value)) return f;
        throw new IllegalArgumentException("weights must be one of "
                + Arrays.stream(values()).map(WeightFormat::optionValue).collect(Collectors.joining(", ")) + ", got " + value);
    }
}
