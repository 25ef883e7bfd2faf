// A block-wide sum for the per-channel reductions (convolution bias gradient, batch
// normalisation): one block per channel, each thread strides over the channel's elements and
// the block then sums its threads' partial sums in shared memory.
#pragma once

#include "strata/backend/cuda/memory.cuh"

namespace strata::backend::cuda::detail {

// Every thread of the block must call it; all get the total. Sums in double, as the CPU
// backend accumulates its per-channel statistics, so the two agree to float tolerance whatever
// the summation order.
__device__ inline double block_sum(double value) {
  __shared__ double partial[block_threads];
  partial[threadIdx.x] = value;
  __syncthreads();
  for (unsigned half = block_threads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  const double total = partial[0];
  // The next call reuses partial: nobody may overwrite it before everyone has read the total.
  __syncthreads();
  return total;
}

}  // namespace strata::backend::cuda::detail
