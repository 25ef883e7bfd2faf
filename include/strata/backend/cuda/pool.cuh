// Pooling kernels for the CUDA backend, one thread per output (forward) or input (backward).
// Window bounds, output sizes and the max-pool tie and NaN rules are the shared ones of
// geometry.hpp, so the CPU and CUDA backends pick the same element of every window.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "strata/backend/cuda/memory.cuh"
#include "strata/backend/geometry.hpp"

namespace strata::backend::cuda {

namespace detail {

// The outputs whose windows can contain input (ih, iw) along one axis: [first, last].
struct OutputRange {
  std::size_t first, last;
  bool empty;
};
__host__ __device__ inline OutputRange outputs_reading(std::size_t i, std::size_t kernel,
                                                       std::size_t stride, std::size_t pad,
                                                       std::size_t out) {
  // Window o covers [o*s - p, o*s - p + k): o*s <= i + p and o*s > i + p - k.
  const std::size_t shifted = i + pad;
  const std::size_t first = shifted < kernel ? 0 : (shifted - kernel) / stride + 1;
  const std::size_t last = shifted / stride < out ? shifted / stride : out - 1;
  return {first, last, first > last};
}

template <class T>
__global__ void max_pool_forward_kernel(PoolGeometry G, std::size_t batch, const T* x, T* y) {
  const std::size_t at = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (at >= batch * G.channels * G.out_pixels()) return;
  const std::size_t plane = at / G.out_pixels(), pixel = at % G.out_pixels();
  const T* in = x + plane * G.in_pixels();
  y[at] = in[backend::window_argmax(G, in, pixel / G.out_width(), pixel % G.out_width())];
}

// Each input gathers the gradients of the outputs whose argmax it is. The argmax is recomputed
// from x, so the forward keeps no indices (the CPU backend keeps them for overlapping windows);
// gathering needs no atomics and fixes the summation order.
template <class T>
__global__ void max_pool_backward_kernel(PoolGeometry G, std::size_t batch, const T* x, const T* dy,
                                         T* dx) {
  const std::size_t at = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (at >= batch * G.channels * G.in_pixels()) return;
  const std::size_t plane = at / G.in_pixels(), pixel = at % G.in_pixels();
  const std::size_t ih = pixel / G.width, iw = pixel % G.width;
  const T* in = x + plane * G.in_pixels();
  const T* grad_out = dy + plane * G.out_pixels();
  const OutputRange rows = outputs_reading(ih, G.kernel_h, G.stride_h, G.pad_h, G.out_height());
  const OutputRange cols = outputs_reading(iw, G.kernel_w, G.stride_w, G.pad_w, G.out_width());
  T sum = 0;
  if (!rows.empty && !cols.empty)
    for (std::size_t oh = rows.first; oh <= rows.last; ++oh)
      for (std::size_t ow = cols.first; ow <= cols.last; ++ow)
        if (backend::window_argmax(G, in, oh, ow) == pixel)
          sum += grad_out[oh * G.out_width() + ow];
  dx[at] = sum;
}

// count_include_pad (PyTorch's default): the divisor counts the padding inside the window.
template <class T>
__global__ void avg_pool_forward_kernel(PoolGeometry G, std::size_t batch, const T* x, T* y) {
  const std::size_t at = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (at >= batch * G.channels * G.out_pixels()) return;
  const std::size_t plane = at / G.out_pixels(), pixel = at % G.out_pixels();
  const T* in = x + plane * G.in_pixels();
  const auto win = G.window(pixel / G.out_width(), pixel % G.out_width());
  T sum = 0;
  for (std::size_t h = win.h0; h < win.h1; ++h)
    for (std::size_t w = win.w0; w < win.w1; ++w) sum += in[h * G.width + w];
  y[at] = sum / static_cast<T>(win.padded_area);
}

template <class T>
__global__ void avg_pool_backward_kernel(PoolGeometry G, std::size_t batch, const T* dy, T* dx) {
  const std::size_t at = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (at >= batch * G.channels * G.in_pixels()) return;
  const std::size_t plane = at / G.in_pixels(), pixel = at % G.in_pixels();
  const T* grad_out = dy + plane * G.out_pixels();
  const OutputRange rows =
      outputs_reading(pixel / G.width, G.kernel_h, G.stride_h, G.pad_h, G.out_height());
  const OutputRange cols =
      outputs_reading(pixel % G.width, G.kernel_w, G.stride_w, G.pad_w, G.out_width());
  T sum = 0;
  if (!rows.empty && !cols.empty)
    for (std::size_t oh = rows.first; oh <= rows.last; ++oh)
      for (std::size_t ow = cols.first; ow <= cols.last; ++ow)
        sum += grad_out[oh * G.out_width() + ow] / static_cast<T>(G.window(oh, ow).padded_area);
  dx[at] = sum;
}

}  // namespace detail

template <PoolGeometry G, class T>
void max_pool_forward(cudaStream_t stream, std::size_t batch, const T* x, T* y) {
  detail::max_pool_forward_kernel<<<grid_for(batch * G.channels * G.out_pixels()), block_threads, 0,
                                    stream>>>(G, batch, x, y);
  STRATA_CUDA_CHECK_LAUNCH("max_pool_forward_kernel");
}

template <PoolGeometry G, class T>
void max_pool_backward(cudaStream_t stream, std::size_t batch, const T* x, const T* dy, T* dx) {
  detail::max_pool_backward_kernel<<<grid_for(batch * G.channels * G.in_pixels()), block_threads, 0,
                                     stream>>>(G, batch, x, dy, dx);
  STRATA_CUDA_CHECK_LAUNCH("max_pool_backward_kernel");
}

template <PoolGeometry G, class T>
void avg_pool_forward(cudaStream_t stream, std::size_t batch, const T* x, T* y) {
  detail::avg_pool_forward_kernel<<<grid_for(batch * G.channels * G.out_pixels()), block_threads, 0,
                                    stream>>>(G, batch, x, y);
  STRATA_CUDA_CHECK_LAUNCH("avg_pool_forward_kernel");
}

template <PoolGeometry G, class T>
void avg_pool_backward(cudaStream_t stream, std::size_t batch, const T* dy, T* dx) {
  detail::avg_pool_backward_kernel<<<grid_for(batch * G.channels * G.in_pixels()), block_threads, 0,
                                     stream>>>(G, batch, dy, dx);
  STRATA_CUDA_CHECK_LAUNCH("avg_pool_backward_kernel");
}

}  // namespace strata::backend::cuda
