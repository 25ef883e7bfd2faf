// Softmax cross-entropy for the CUDA backend, as the CPU's softmax_cross_entropy (loss.hpp):
// nn.CrossEntropyLoss(reduction="mean", label_smoothing=s) times weight, writing the gradient
// with respect to the logits while computing the loss.
#pragma once

#include <cuda_runtime.h>
#include <thrust/count.h>
#include <thrust/execution_policy.h>
#include <thrust/reduce.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "strata/backend/cuda/memory.cuh"
#include "strata/backend/loss_options.hpp"

namespace strata::backend::cuda {

namespace detail {

// One thread per sample: a row is a few classes to a few thousand, read three times from cache.
// Computed in double, as on the CPU, so that log-sum-exp loses nothing to float.
template <class T>
__global__ void cross_entropy_kernel(const T* logits, std::size_t batch, std::size_t classes,
                                     const std::int32_t* labels, double label_smoothing,
                                     double weight, T* grad, double* losses) {
  const std::size_t n = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (n >= batch) return;
  const T* row = logits + n * classes;
  T* grad_row = grad + n * classes;
  const auto label = static_cast<std::size_t>(labels[n]);
  const double on_target = 1.0 - label_smoothing, uniform = label_smoothing / double(classes);
  double top = double(row[0]);
  for (std::size_t k = 1; k < classes; ++k) top = fmax(top, double(row[k]));
  double sum = 0;
  for (std::size_t k = 0; k < classes; ++k) sum += exp(double(row[k]) - top);
  const double log_sum = top + log(sum);
  double smoothed = 0;  // -mean_k log p_k
  for (std::size_t k = 0; k < classes; ++k) {
    const double log_p = double(row[k]) - log_sum;
    smoothed -= log_p;
    const double target = uniform + (k == label ? on_target : 0.0);
    grad_row[k] = static_cast<T>(weight * (exp(log_p) - target) / double(batch));
  }
  losses[n] =
      on_target * (log_sum - double(row[label])) + label_smoothing * smoothed / double(classes);
}

struct OutsideClasses {
  std::int32_t classes;
  __host__ __device__ bool operator()(std::int32_t label) const {
    return label < 0 || label >= classes;
  }
};

}  // namespace detail

// Returns weight times the mean loss over the batch and writes its gradient into grad. logits,
// labels and grad are device memory; losses is device scratch for batch values. Synchronises
// the stream, since the loss is returned to the host.
template <class T>
double softmax_cross_entropy(cudaStream_t stream, const T* logits, std::size_t batch,
                             std::size_t classes, const std::int32_t* labels,
                             double label_smoothing, T* grad, double* losses, double weight = 1.0) {
  backend::check_cross_entropy_options(label_smoothing, weight);
  const auto policy = thrust::cuda::par.on(stream);
  const auto invalid = thrust::count_if(policy, labels, labels + batch,
                                        detail::OutsideClasses{static_cast<std::int32_t>(classes)});
  if (invalid != 0)
    throw std::out_of_range("cross_entropy: " + std::to_string(invalid) +
                            " labels are outside [0, " + std::to_string(classes) + ")");
  detail::cross_entropy_kernel<<<grid_for(batch), block_threads, 0, stream>>>(
      logits, batch, classes, labels, label_smoothing, weight, grad, losses);
  STRATA_CUDA_CHECK_LAUNCH("cross_entropy_kernel");
  return weight * thrust::reduce(policy, losses, losses + batch, 0.0) / double(batch);
}

}  // namespace strata::backend::cuda
