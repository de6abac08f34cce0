package io.prefill.model;

/** Element types accepted in safetensors files. */
public enum DType {
    BF16(2), F16(2), F32(4),
    /** FP8 E4M3 codes ({@link Fp8E4M3}); a projection weight of this type is scaled per row ({@link Fp8Weight}). */
    F8_E4M3(1);

    private final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    public int bytes() { return bytes; }
}
