// Element-wise and row-wise kernels of the transformer layer (filled in by the model-ops work).
#pragma once
#include "common.cuh"
