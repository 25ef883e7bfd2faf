// Batch normalisation for the CUDA backend, with the CPU backend's semantics (PyTorch's):
// training normalises with the batch mean and biased variance and moves the running estimates
// with the unbiased one; saved[0, 3C) keeps each channel's mean as hi and lo
// (backend::split_mean) and its 1/std for backward, as the CPU backend's. One block per channel:
// its statistics cover batch * plane elements that no other channel touches, reduced in double in
// two passes (mean, then squared deviations around it, which avoids the cancellation of sum(x^2) -
// n*mean^2).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "strata/backend/cuda/memory.cuh"
#include "strata/backend/cuda/reduce.cuh"
#include "strata/backend/geometry.hpp"

namespace strata::backend::cuda {

namespace detail {

// Element i of channel c's batch * plane values, in [batch, channels, plane] storage.
__device__ inline std::size_t channel_element(NormGeometry G, std::size_t c, std::size_t i) {
  return (i / G.plane) * G.sample() + c * G.plane + i % G.plane;
}

// Centred in double: x * scale + (beta - mean * scale) would cancel when |mean| >> std.
template <class T>
__device__ void batchnorm_affine(NormGeometry G, std::size_t batch, std::size_t c, const T* x, T* y,
                                 double mean, double scale, double beta) {
  for (std::size_t i = threadIdx.x; i < batch * G.plane; i += blockDim.x) {
    const std::size_t at = channel_element(G, c, i);
    y[at] = static_cast<T>((double(x[at]) - mean) * scale + beta);
  }
}

template <class T>
__global__ void batchnorm_train_kernel(NormGeometry G, std::size_t batch, const T* x, T* y,
                                       const T* gamma, const T* beta, T* running_mean,
                                       T* running_var, T* saved, double eps, double momentum) {
  const std::size_t c = blockIdx.x;
  const std::size_t elements = batch * G.plane;
  const double count = static_cast<double>(elements);
  double sum = 0;
  for (std::size_t i = threadIdx.x; i < elements; i += blockDim.x)
    sum += double(x[channel_element(G, c, i)]);
  const double mean = block_sum(sum) / count;
  double squares = 0;
  for (std::size_t i = threadIdx.x; i < elements; i += blockDim.x) {
    const double d = double(x[channel_element(G, c, i)]) - mean;
    squares += d * d;
  }
  squares = block_sum(squares);
  const double inv_std = 1.0 / sqrt(squares / count + eps);
  if (threadIdx.x == 0) {
    const SplitMean<T> centre = split_mean<T>(mean);
    saved[c] = centre.hi;
    saved[G.channels + c] = centre.lo;
    saved[2 * G.channels + c] = static_cast<T>(inv_std);
    // The layer refuses one value per channel, which has no unbiased variance.
    const double unbiased = squares / (count - 1 > 1.0 ? count - 1 : 1.0);
    running_mean[c] = static_cast<T>((1 - momentum) * double(running_mean[c]) + momentum * mean);
    running_var[c] = static_cast<T>((1 - momentum) * double(running_var[c]) + momentum * unbiased);
  }
  batchnorm_affine(G, batch, c, x, y, mean, double(gamma[c]) * inv_std, double(beta[c]));
}

template <class T>
__global__ void batchnorm_eval_kernel(NormGeometry G, std::size_t batch, const T* x, T* y,
                                      const T* gamma, const T* beta, const T* running_mean,
                                      const T* running_var, double eps) {
  const std::size_t c = blockIdx.x;
  const double scale = double(gamma[c]) / sqrt(double(running_var[c]) + eps);
  batchnorm_affine(G, batch, c, x, y, double(running_mean[c]), scale, double(beta[c]));
}

// dx = g/std/M * (M*dy - sum(dy) - x_hat * sum(dy * x_hat)) with batch statistics; with the
// running ones (evaluation) they are constants and dx = g/std * dy, as PyTorch's eval backward.
template <class T>
__global__ void batchnorm_backward_kernel(NormGeometry G, std::size_t batch, bool batch_statistics,
                                          const T* x, const T* dy, T* dx, const T* gamma, T* dgamma,
                                          T* dbeta, const T* saved, const T* running, double eps) {
  const std::size_t c = blockIdx.x;
  const std::size_t elements = batch * G.plane;
  const double mean =
      batch_statistics ? double(saved[c]) + double(saved[G.channels + c]) : double(running[c]);
  const double inv_std = batch_statistics ? double(saved[2 * G.channels + c])
                                          : 1.0 / sqrt(double(running[G.channels + c]) + eps);
  double sum_dy = 0, sum_dy_xhat = 0;
  for (std::size_t i = threadIdx.x; i < elements; i += blockDim.x) {
    const std::size_t at = channel_element(G, c, i);
    sum_dy += double(dy[at]);
    sum_dy_xhat += double(dy[at]) * (double(x[at]) - mean);
  }
  sum_dy = block_sum(sum_dy);
  sum_dy_xhat = block_sum(sum_dy_xhat) * inv_std;
  if (threadIdx.x == 0) {
    dgamma[c] = static_cast<T>(sum_dy_xhat);
    dbeta[c] = static_cast<T>(sum_dy);
  }
  if (!dx) return;
  const double scale = double(gamma[c]) * inv_std;
  const double count = static_cast<double>(elements);
  // x - mean rather than x * slope - mean * slope, which cancels when |mean| >> std.
  const double slope = batch_statistics ? scale * inv_std * sum_dy_xhat / count : 0.0;
  const double offset = batch_statistics ? -scale * sum_dy / count : 0.0;
  for (std::size_t i = threadIdx.x; i < elements; i += blockDim.x) {
    const std::size_t at = channel_element(G, c, i);
    dx[at] = static_cast<T>(double(dy[at]) * scale - (double(x[at]) - mean) * slope + offset);
  }
}

}  // namespace detail

template <NormGeometry G, class T>
void batchnorm_forward_train(cudaStream_t stream, std::size_t batch, const T* x, T* y,
                             const T* gamma, const T* beta, T* running_mean, T* running_var,
                             T* saved, double eps, double momentum) {
  detail::batchnorm_train_kernel<<<G.channels, block_threads, 0, stream>>>(
      G, batch, x, y, gamma, beta, running_mean, running_var, saved, eps, momentum);
  STRATA_CUDA_CHECK_LAUNCH("batchnorm_train_kernel");
}

template <NormGeometry G, class T>
void batchnorm_forward_eval(cudaStream_t stream, std::size_t batch, const T* x, T* y,
                            const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, double eps) {
  detail::batchnorm_eval_kernel<<<G.channels, block_threads, 0, stream>>>(
      G, batch, x, y, gamma, beta, running_mean, running_var, eps);
  STRATA_CUDA_CHECK_LAUNCH("batchnorm_eval_kernel");
}

// The statistics backward differentiates through: the batch's (saved, [3, C]: mean hi, lo, 1/std)
// in training, the running ones (running, [2, C]: mean, variance) in evaluation. dx may be null.
template <NormGeometry G, class T>
void batchnorm_backward(cudaStream_t stream, std::size_t batch, bool batch_statistics, const T* x,
                        const T* dy, T* dx, const T* gamma, T* dgamma, T* dbeta, const T* saved,
                        const T* running, double eps) {
  detail::batchnorm_backward_kernel<<<G.channels, block_threads, 0, stream>>>(
      G, batch, batch_statistics, x, dy, dx, gamma, dgamma, dbeta, saved, running, eps);
  STRATA_CUDA_CHECK_LAUNCH("batchnorm_backward_kernel");
}

}  // namespace strata::backend::cuda
