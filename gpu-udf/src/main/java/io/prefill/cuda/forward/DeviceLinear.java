package io.prefill.cuda.forward;

import io.prefill.cuda.DeviceBuffer;

/**
 * One projection's weight on the device, [out, in] row-major as in the checkpoint: bf16, or FP8
 * E4M3 codes with one fp32 scale per output row ({@code rowScales}, null for bf16).
 */
public record DeviceLinear(DeviceBuffer weight, DeviceBuffer rowScales) {
    public static DeviceLinear bf16(DeviceBuffer weight) { return new DeviceLinear(weight, null); }

    public boolean fp8() { return rowScales != null; }
}
