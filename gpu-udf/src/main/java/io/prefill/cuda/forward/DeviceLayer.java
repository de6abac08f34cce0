package io.prefill.cuda.forward;

import io.prefill.cuda.DeviceBuffer;

/**
 * One decoder layer's weights on the device. Projections are bf16 [out, in] as in the checkpoint,
 * with q/k/v stacked into one [qDim + 2 kvDim, hidden] matrix and gate/up into one
 * [2 * intermediate, hidden] matrix, so that each is one GEMM. Norm weights and the optional QKV
 * bias are fp32.
 */
public record DeviceLayer(DeviceBuffer qkv, DeviceBuffer qkvBias, DeviceBuffer o, DeviceBuffer gateUp,
                          DeviceBuffer down, DeviceBuffer inputNorm, DeviceBuffer postAttentionNorm) {
}
