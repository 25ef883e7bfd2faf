// Optimizer steps for the CUDA backend: torch.optim's single-tensor update rules of
// backend/formulas.hpp (shared with optim.hpp), one thread per parameter element. Per-tensor
// scalars (Adam's bias corrections) are computed on the host in double, exactly as the CPU
// optimizers compute them.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>

#include "strata/backend/cuda/memory.cuh"
#include "strata/backend/formulas.hpp"

namespace strata::backend::cuda {

struct SgdStep {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
  // The parameter's first step: PyTorch starts the momentum buffer at the first gradient,
  // without dampening.
  bool first;
};

struct AdamStep {
  float lr, beta1, beta2, eps, weight_decay;
  // Weight decay as a shrink of the weights (AdamW) rather than an L2 term (Adam).
  bool decoupled;
  // This parameter's step count, from 1.
  double step;
};

namespace detail {

__global__ inline void sgd_kernel(std::size_t count, float* value, const float* grad,
                                  float* momentum_buffer, SgdStep o) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  // Without momentum the buffer is never read or written.
  float unused = 0;
  backend::sgd_update(value[i], grad[i], momentum_buffer ? momentum_buffer[i] : unused, o.lr,
                      o.momentum, o.dampening, o.weight_decay, o.nesterov, o.first);
}

__global__ inline void adam_kernel(std::size_t count, float* value, const float* grad, float* m,
                                   float* v, AdamStep o, float step_size, float sqrt_correction2) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  backend::adam_update(value[i], grad[i], m[i], v[i], o.lr, o.beta1, o.beta2, o.eps, o.weight_decay,
                       o.decoupled, step_size, sqrt_correction2);
}

}  // namespace detail

// One parameter tensor of count elements; momentum_buffer is unused without momentum.
inline void sgd_step(cudaStream_t stream, std::size_t count, float* value, const float* grad,
                     float* momentum_buffer, const SgdStep& options) {
  detail::sgd_kernel<<<grid_for(count), block_threads, 0, stream>>>(count, value, grad,
                                                                    momentum_buffer, options);
  STRATA_CUDA_CHECK_LAUNCH("sgd_kernel");
}

inline void adam_step(cudaStream_t stream, std::size_t count, float* value, const float* grad,
                      float* m, float* v, const AdamStep& options) {
  const double correction1 = 1.0 - std::pow(double(options.beta1), options.step);
  const double correction2 = 1.0 - std::pow(double(options.beta2), options.step);
  const auto step_size = static_cast<float>(options.lr / correction1);
  const auto sqrt_correction2 = static_cast<float>(std::sqrt(correction2));
  detail::adam_kernel<<<grid_for(count), block_threads, 0, stream>>>(
      count, value, grad, m, v, options, step_size, sqrt_correction2);
  STRATA_CUDA_CHECK_LAUNCH("adam_kernel");
}

}  // namespace strata::backend::cuda
