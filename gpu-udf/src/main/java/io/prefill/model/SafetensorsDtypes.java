package io.prefill.model;

import java.util.Map;

/** Element sizes of every dtype the safetensors format defines, so headers can be checked even for tensors the engine never reads. */
final class SafetensorsDtypes {
    private SafetensorsDtypes() { }

    private static final Map<String, Integer> BYTES = Map.ofEntries(
            Map.entry("BOOL", 1), Map.entry("U8", 1), Map.entry("I8", 1),
            Map.entry("F8_E4M3", 1), Map.entry("F8_E5M2", 1), Map.entry("F8_E8M0", 1),
            Map.entry("I16", 2), Map.entry("U16", 2), Map.entry("F16", 2), Map.entry("BF16", 2),
            Map.entry("I32", 4), Map.entry("U32", 4), Map.entry("F32", 4),
            Map.entry("I64", 8), Map.entry("U64", 8), Map.entry("F64", 8));

    /** Bytes per element, or -1 for a name the format does not define. */
    static int elementBytes(String dtype) {
        return BYTES.getOrDefault(dtype, -1);
    }

    /** The float type the engine can decode, or null (integers, F64, FP8 other than E4M3...). */
    static DType floatType(String dtype) {
        return switch (dtype) {
            case "BF16" -> DType.BF16;
            case "F16" -> DType.F16;
            case "F32" -> DType.F32;
            case "F8_E4M3" -> DType.F8_E4M3;
            default -> null;
        };
    }
}
