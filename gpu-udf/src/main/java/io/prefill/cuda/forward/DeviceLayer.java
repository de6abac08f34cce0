package io.prefill.cuda.forward;

import io.prefill.cuda.DeviceBuffer;

/**
 * One decoder layer's weights on the device. Projections are [out, in] as in the checkpoint (bf16,
 * or FP8 codes with row scales: {@link DeviceLinear}), with q/k/v stacked into one
 * [qDim + 2 kvDim, hidden] matrix and gate/up into one [2 * intermediate, hidden] matrix, so that
 * each is one GEMM. Norm weights and the optional QKV bias are fp32.
 */
public record DeviceLayer(DeviceLinear qkv, DeviceBuffer qkvBias, DeviceLinear o, DeviceLinear gateUp,
                          DeviceLinear down, DeviceBuffer inputNorm, DeviceBuffer postAttentionNorm) {
}
