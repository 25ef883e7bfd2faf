// Convolution on the GPU as explicit GEMM: each image's column matrix is built by an im2col
// kernel and multiplied by the weights with cuBLAS, one image and group at a time. The
// geometry is ConvGeometry (geometry.hpp), shared with the CPU backend, so both agree on every
// size; tensors have PyTorch's layouts (x [N, Cin, H, W], weight [Cout, Cin/groups, Kh, Kw] then
// bias [Cout]).
//
// The host functions take the geometry as a template argument, as the CPU backend's do; the
// kernels take it as a run-time argument, because nvcc 13 cannot write the host stub of a
// kernel template whose argument is a class-type value (the same holds in pool.cuh and
// normalization.cuh).
#pragma once

#include <cstddef>

#include "strata/backend/cuda/gemm.cuh"
#include "strata/backend/cuda/memory.cuh"
#include "strata/backend/cuda/reduce.cuh"
#include "strata/backend/geometry.hpp"

namespace strata::backend::cuda {

// A column matrix and its gradient, reused for every image.
template <ConvGeometry G>
constexpr std::size_t conv_scratch_size() {
  return 2 * G.column_size();
}

namespace detail {

// col[patch x out_pixels] from one group's input channels, one thread per entry: row
// (c, ki, kj) and column (oh, ow) read input (c, oh*s + ki*d - p, ow*s + kj*d - p), or 0 in the
// padding.
template <class T>
__global__ void im2col_kernel(ConvGeometry G, const T* input, T* col) {
  const std::size_t at = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (at >= G.patch() * G.out_pixels()) return;
  const std::size_t row = at / G.out_pixels(), pixel = at % G.out_pixels();
  const std::size_t kj = row % G.kernel_w, ki = row / G.kernel_w % G.kernel_h;
  const std::size_t c = row / (G.kernel_h * G.kernel_w);
  const std::size_t oh = pixel / G.out_width(), ow = pixel % G.out_width();
  // Unsigned: a position in the top or left padding wraps round to a huge value.
  const std::size_t ih = oh * G.stride_h + ki * G.dilation_h - G.pad_h;
  const std::size_t iw = ow * G.stride_w + kj * G.dilation_w - G.pad_w;
  col[at] = ih < G.height && iw < G.width ? input[(c * G.height + ih) * G.width + iw] : T(0);
}

// im2col's adjoint, gathered: each input of the group sums the column entries that read it.
// One thread per input and no atomics, so the result does not depend on scheduling.
template <class T>
__global__ void col2im_kernel(ConvGeometry G, const T* col, T* input) {
  const std::size_t at = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (at >= G.in_per_group() * G.in_pixels()) return;
  const std::size_t c = at / G.in_pixels(), ih = at % G.in_pixels() / G.width, iw = at % G.width;
  T sum = 0;
  for (std::size_t ki = 0; ki < G.kernel_h; ++ki) {
    // Output row oh reads this input row through kernel row ki when oh*s = ih + p - ki*d.
    const std::ptrdiff_t th = std::ptrdiff_t(ih + G.pad_h) - std::ptrdiff_t(ki * G.dilation_h);
    if (th < 0 || th % std::ptrdiff_t(G.stride_h) != 0) continue;
    const std::size_t oh = std::size_t(th) / G.stride_h;
    if (oh >= G.out_height()) continue;
    for (std::size_t kj = 0; kj < G.kernel_w; ++kj) {
      const std::ptrdiff_t tw = std::ptrdiff_t(iw + G.pad_w) - std::ptrdiff_t(kj * G.dilation_w);
      if (tw < 0 || tw % std::ptrdiff_t(G.stride_w) != 0) continue;
      const std::size_t ow = std::size_t(tw) / G.stride_w;
      if (ow >= G.out_width()) continue;
      const std::size_t row = (c * G.kernel_h + ki) * G.kernel_w + kj;
      sum += col[row * G.out_pixels() + oh * G.out_width() + ow];
    }
  }
  input[at] = sum;
}

// The bias initialises the output, which the products then accumulate into.
template <class T>
__global__ void fill_bias_kernel(ConvGeometry G, std::size_t batch, const T* bias, T* y) {
  const std::size_t at = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (at >= batch * G.out_channels * G.out_pixels()) return;
  y[at] = bias[at / G.out_pixels() % G.out_channels];
}

// dbias[c] = sum over the batch of dy's plane c; one block per channel.
template <class T>
__global__ void bias_grad_kernel(ConvGeometry G, std::size_t batch, const T* dy, T* dbias) {
  const std::size_t c = blockIdx.x;
  double sum = 0;
  for (std::size_t i = threadIdx.x; i < batch * G.out_pixels(); i += blockDim.x) {
    const std::size_t n = i / G.out_pixels(), p = i % G.out_pixels();
    sum += double(dy[(n * G.out_channels + c) * G.out_pixels() + p]);
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) dbias[c] = static_cast<T>(sum);
}

// The column matrix of group g of one image: built in col, or the input itself for a 1x1
// stride-1 unpadded convolution.
template <ConvGeometry G, class T>
const T* columns_of(cudaStream_t stream, const T* group_in, T* col) {
  if constexpr (!G.needs_im2col()) return group_in;
  im2col_kernel<<<grid_for(G.column_size()), block_threads, 0, stream>>>(G, group_in, col);
  STRATA_CUDA_CHECK_LAUNCH("im2col_kernel");
  return col;
}

}  // namespace detail

// y = conv(x, weight) + bias for the batch. scratch: conv_scratch_size<G>() elements.
template <ConvGeometry G, class T>
void conv2d_forward(const Blas& blas, std::size_t batch, const T* params, const T* x, T* y,
                    T* scratch) {
  constexpr std::size_t in_size = G.in_channels * G.in_pixels();
  constexpr std::size_t out_size = G.out_channels * G.out_pixels();
  const cudaStream_t stream = blas.stream();
  if constexpr (G.bias) {
    detail::fill_bias_kernel<<<grid_for(batch * out_size), block_threads, 0, stream>>>(
        G, batch, params + G.weight_size(), y);
    STRATA_CUDA_CHECK_LAUNCH("fill_bias_kernel");
  }
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t g = 0; g < G.groups; ++g) {
      const T* columns = detail::columns_of<G>(
          stream, x + n * in_size + g * G.in_per_group() * G.in_pixels(), scratch);
      // out_g[Cout/g, Ho*Wo] = W_g[Cout/g, patch] * columns[patch, Ho*Wo]
      gemm<T>(blas, Op::none, Op::none, G.out_per_group(), G.out_pixels(), G.patch(), T(1),
              params + g * G.out_per_group() * G.patch(), G.patch(), columns, G.out_pixels(),
              G.bias ? T(1) : T(0), y + n * out_size + g * G.out_per_group() * G.out_pixels(),
              G.out_pixels());
    }
}

// dx = conv^T(dy, weight), overwriting dx.
template <ConvGeometry G, class T>
void conv2d_backward_input(const Blas& blas, std::size_t batch, const T* params, const T* dy, T* dx,
                           T* scratch) {
  constexpr std::size_t in_size = G.in_channels * G.in_pixels();
  constexpr std::size_t out_size = G.out_channels * G.out_pixels();
  const cudaStream_t stream = blas.stream();
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t g = 0; g < G.groups; ++g) {
      T* group_dx = dx + n * in_size + g * G.in_per_group() * G.in_pixels();
      // dcol[patch, Ho*Wo] = W_g^T * dy_g, straight into dx when no im2col was needed.
      T* dcolumns = G.needs_im2col() ? scratch + G.column_size() : group_dx;
      gemm<T>(blas, Op::transpose, Op::none, G.patch(), G.out_pixels(), G.out_per_group(), T(1),
              params + g * G.out_per_group() * G.patch(), G.patch(),
              dy + n * out_size + g * G.out_per_group() * G.out_pixels(), G.out_pixels(), T(0),
              dcolumns, G.out_pixels());
      if constexpr (G.needs_im2col()) {
        detail::
            col2im_kernel<<<grid_for(G.in_per_group() * G.in_pixels()), block_threads, 0, stream>>>(
                G, dcolumns, group_dx);
        STRATA_CUDA_CHECK_LAUNCH("col2im_kernel");
      }
    }
}

// dweight (and dbias after it, as in the parameter layout), overwriting grads.
template <ConvGeometry G, class T>
void conv2d_backward_weight(const Blas& blas, std::size_t batch, const T* x, const T* dy, T* grads,
                            T* scratch) {
  constexpr std::size_t in_size = G.in_channels * G.in_pixels();
  constexpr std::size_t out_size = G.out_channels * G.out_pixels();
  const cudaStream_t stream = blas.stream();
  // The images' products accumulate into dW, which starts at zero (also for an empty batch).
  STRATA_CUDA_CHECK(cudaMemsetAsync(grads, 0, G.weight_size() * sizeof(T), stream));
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t g = 0; g < G.groups; ++g) {
      const T* columns = detail::columns_of<G>(
          stream, x + n * in_size + g * G.in_per_group() * G.in_pixels(), scratch);
      // dW_g[Cout/g, patch] += dy_g[Cout/g, Ho*Wo] * columns^T
      gemm<T>(blas, Op::none, Op::transpose, G.out_per_group(), G.patch(), G.out_pixels(), T(1),
              dy + n * out_size + g * G.out_per_group() * G.out_pixels(), G.out_pixels(), columns,
              G.out_pixels(), T(1), grads + g * G.out_per_group() * G.patch(), G.patch());
    }
  if constexpr (G.bias) {
    detail::bias_grad_kernel<<<G.out_channels, block_threads, 0, stream>>>(G, batch, dy,
                                                                           grads + G.weight_size());
    STRATA_CUDA_CHECK_LAUNCH("bias_grad_kernel");
  }
}

// The CPU backend's conv2d_backward: all parameter gradients, and dx unless it is null (the
// network's first layer needs no input gradient).
template <ConvGeometry G, class T>
void conv2d_backward(const Blas& blas, std::size_t batch, const T* params, const T* x, const T* dy,
                     T* dx, T* grads, T* scratch) {
  conv2d_backward_weight<G>(blas, batch, x, dy, grads, scratch);
  if (dx) conv2d_backward_input<G>(blas, batch, params, dy, dx, scratch);
}

}  // namespace strata::backend::cuda
