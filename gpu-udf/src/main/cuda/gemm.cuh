// Tensor-core GEMM for the model's projections (filled in by the GEMM work).
#pragma once
#include "common.cuh"
