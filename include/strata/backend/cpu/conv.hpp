// Convolution on the CPU: im2col + GEMM per image and group, images spread over threads.
// The geometry is a template argument, so every loop bound below is a compile-time constant.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

#include "strata/backend/cpu/direct_conv.hpp"
#include "strata/backend/cpu/gemm.hpp"
#include "strata/backend/cpu/parallel.hpp"
#include "strata/backend/geometry.hpp"
#include "strata/layer.hpp"

namespace strata::backend::cpu {

using backend::ConvGeometry;

// For kernel column kj, the output columns [begin, end) whose input column lies inside the
// image; the rest read padding. Compile-time, so the hot loops below carry no bounds tests.
struct ColumnRange {
  std::size_t begin, end;
};

template <ConvGeometry G>
constexpr std::array<ColumnRange, G.kernel_w> valid_columns() {
  std::array<ColumnRange, G.kernel_w> ranges{};
  for (std::size_t kj = 0; kj < G.kernel_w; ++kj) {
    std::size_t begin = G.out_width(), end = 0;
    for (std::size_t ow = 0; ow < G.out_width(); ++ow) {
      const std::size_t iw = ow * G.stride_w + kj * G.dilation_w;  // shifted by pad_w
      if (iw >= G.pad_w && iw < G.pad_w + G.width) {
        begin = std::min(begin, ow);
        end = ow + 1;
      }
    }
    ranges[kj] = begin < end ? ColumnRange{begin, end} : ColumnRange{0, 0};
  }
  return ranges;
}

// Visits every (column-matrix row, output row) pair whose input row lies inside the image, with
// pointers to both rows; rows reading padding are passed to on_padding_row.
template <ConvGeometry G, class T, class U, class RowFn, class PadFn>
void for_each_patch_row(T* col, U* input, RowFn&& on_row, PadFn&& on_padding_row) {
  constexpr std::size_t oh_n = G.out_height(), ow_n = G.out_width();
  for (std::size_t c = 0; c < G.in_per_group(); ++c) {
    U* plane = input + c * G.in_pixels();
    for (std::size_t ki = 0; ki < G.kernel_h; ++ki) {
      for (std::size_t kj = 0; kj < G.kernel_w; ++kj) {
        T* row = col + ((c * G.kernel_h + ki) * G.kernel_w + kj) * G.out_pixels();
        for (std::size_t oh = 0; oh < oh_n; ++oh) {
          const std::size_t ih = oh * G.stride_h + ki * G.dilation_h;  // shifted by pad_h
          if (ih < G.pad_h || ih >= G.pad_h + G.height) {
            on_padding_row(row + oh * ow_n);
            continue;
          }
          on_row(row + oh * ow_n, plane + (ih - G.pad_h) * G.width, kj);
        }
      }
    }
  }
}

// col[patch x out_pixels] from one group's input channels [in_per_group x H x W].
template <ConvGeometry G, class T>
void im2col(const T* input, T* col) {
  constexpr auto ranges = valid_columns<G>();
  constexpr std::size_t ow_n = G.out_width();
  for_each_patch_row<G>(
      col, input,
      [&](T* out, const T* in_row, std::size_t kj) {
        const ColumnRange r = ranges[kj];
        std::fill(out, out + r.begin, T(0));
        // Output column ow reads input column ow * stride_w + kj * dilation_w - pad_w.
        const T* in = in_row + (r.begin * G.stride_w + kj * G.dilation_w - G.pad_w);
        if constexpr (G.stride_w == 1)
          std::copy(in, in + (r.end - r.begin), out + r.begin);
        else
          for (std::size_t ow = r.begin; ow < r.end; ++ow, in += G.stride_w) out[ow] = *in;
        std::fill(out + r.end, out + ow_n, T(0));
      },
      [&](T* out) { std::fill_n(out, ow_n, T(0)); });
}

// Adds col's entries back onto the input positions they were read from (im2col's adjoint).
template <ConvGeometry G, class T>
void col2im_add(const T* col, T* input) {
  constexpr auto ranges = valid_columns<G>();
  for_each_patch_row<G>(
      col, input,
      [&](const T* from, T* in_row, std::size_t kj) {
        const ColumnRange r = ranges[kj];
        T* to = in_row + (r.begin * G.stride_w + kj * G.dilation_w - G.pad_w);
        if constexpr (G.stride_w == 1) {
          const auto n = static_cast<Eigen::Index>(r.end - r.begin);
          Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(to, n) +=
              Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(from + r.begin, n);
        } else {
          for (std::size_t ow = r.begin; ow < r.end; ++ow, to += G.stride_w) *to += from[ow];
        }
      },
      [](const T*) {});
}

// float takes the direct path where the geometry allows it (see direct_conv.hpp); double, and
// builds without AVX-512, take im2col + GEMM.
template <class T>
inline constexpr bool direct_kernels_for = STRATA_DIRECT_CONV&& std::is_same_v<T, float>;
template <ConvGeometry G, class T>
inline constexpr bool uses_direct_conv = direct_kernels_for<T>&& direct_conv_applies<G>;
template <ConvGeometry G, class T>
inline constexpr bool uses_direct_depthwise = direct_kernels_for<T>&& direct_depthwise_applies<G>;

// Per thread: a column matrix, its gradient, and a private weight+bias gradient; the direct
// path needs its packed weights beside the private gradients instead of the columns.
template <ConvGeometry G>
constexpr std::size_t conv_scratch_size(std::size_t threads) {
  const std::size_t partials = threads * (G.weight_size() + G.out_channels);
  const std::size_t direct = uses_direct_conv<G, float> ? G.weight_size() : 0;
  return std::max(threads * 2 * G.column_size(), direct) + partials;
}

// One image: out[Cout, Ho*Wo] = W * columns (+ bias), each group's product split over
// `gemm_threads` (more than one only when there are fewer images than threads).
template <ConvGeometry G, class T>
void conv2d_forward_image(const T* params, const T* image, T* out, T* col,
                          std::size_t gemm_threads) {
  const T* weight = params;
  if constexpr (G.bias) {
    // The bias initialises the output, which the products then accumulate into.
    const T* bias = params + G.weight_size();
    for (std::size_t c = 0; c < G.out_channels; ++c)
      std::fill_n(out + c * G.out_pixels(), G.out_pixels(), bias[c]);
  }
  for (std::size_t g = 0; g < G.groups; ++g) {
    const T* group_in = image + g * G.in_per_group() * G.in_pixels();
    if constexpr (G.needs_im2col()) im2col<G>(group_in, col);
    const T* columns = G.needs_im2col() ? col : group_in;  // [patch, Ho*Wo]
    // out_g[Cout/g, Ho*Wo] = W_g[Cout/g, patch] * columns
    gemm_parallel<T>(gemm_threads, Op::none, Op::none, G.out_per_group(), G.out_pixels(), G.patch(),
                     T(1), weight + g * G.out_per_group() * G.patch(), G.patch(), columns,
                     G.out_pixels(), G.bias ? T(1) : T(0),
                     out + g * G.out_per_group() * G.out_pixels(), G.out_pixels());
  }
}

template <ConvGeometry G, class T>
void conv2d_forward(const Ctx<T>& ctx, const T* x, T* y) {
  constexpr std::size_t in_size = G.in_channels * G.in_pixels();     // [Cin, H, W]
  constexpr std::size_t out_size = G.out_channels * G.out_pixels();  // [Cout, Ho, Wo]
#if STRATA_DIRECT_CONV
  const T* bias = G.bias ? ctx.params + G.weight_size() : nullptr;
  if constexpr (uses_direct_conv<G, T>) {
    direct_conv_forward<G>(ctx.threads, ctx.batch, ctx.params, bias, x, y, ctx.scratch);
    return;
  }
  if constexpr (uses_direct_depthwise<G, T>) {
    direct_depthwise_forward<G>(ctx.threads, ctx.batch, ctx.params, bias, x, y);
    return;
  }
#endif
  const std::size_t slot_size = 2 * G.column_size();
  if (ctx.batch < ctx.threads) {
    // Too few images to occupy every thread (inference latency): split each product instead.
    for (std::size_t n = 0; n < ctx.batch; ++n)
      conv2d_forward_image<G>(ctx.params, x + n * in_size, y + n * out_size, ctx.scratch,
                              ctx.threads);
    return;
  }
  parallel_for(ctx.threads, ctx.batch, [&](std::size_t n, std::size_t slot) {
    conv2d_forward_image<G>(ctx.params, x + n * in_size, y + n * out_size,
                            ctx.scratch + slot * slot_size, 1);
  });
}

// dbias[c] += sum of one image's dy plane c.
template <ConvGeometry G, class T>
void add_bias_grad(const T* grad_out, T* dbias) {
  for (std::size_t c = 0; c < G.out_channels; ++c) {
    const T* plane = grad_out + c * G.out_pixels();
    T sum = 0;
    for (std::size_t p = 0; p < G.out_pixels(); ++p) sum += plane[p];
    dbias[c] += sum;
  }
}

// The generic backward for one image: dW and dbias into this thread's partial sums, dx written.
template <ConvGeometry G, class T>
void conv2d_backward_image(const T* weight, const T* image, const T* grad_out, T* grad_in, T* col,
                           T* dweight) {
  T* dcol = col + G.column_size();
  if (grad_in) std::fill_n(grad_in, G.in_channels * G.in_pixels(), T(0));
  for (std::size_t g = 0; g < G.groups; ++g) {
    const T* group_in = image + g * G.in_per_group() * G.in_pixels();
    const T* group_dy = grad_out + g * G.out_per_group() * G.out_pixels();
    if constexpr (G.needs_im2col()) im2col<G>(group_in, col);
    const T* columns = G.needs_im2col() ? col : group_in;  // [patch, Ho*Wo]
    // dW_g[Cout/g, patch] += dy_g[Cout/g, Ho*Wo] * columns^T
    gemm<T>(Op::none, Op::transpose, G.out_per_group(), G.patch(), G.out_pixels(), T(1), group_dy,
            G.out_pixels(), columns, G.out_pixels(), T(1),
            dweight + g * G.out_per_group() * G.patch(), G.patch());
    if (!grad_in) continue;
    T* group_dx = grad_in + g * G.in_per_group() * G.in_pixels();
    // dcol[patch, Ho*Wo] = W_g^T * dy_g; written straight into dx when no im2col was needed
    T* dcolumns = G.needs_im2col() ? dcol : group_dx;
    gemm<T>(Op::transpose, Op::none, G.patch(), G.out_pixels(), G.out_per_group(), T(1),
            weight + g * G.out_per_group() * G.patch(), G.patch(), group_dy, G.out_pixels(), T(0),
            dcolumns, G.out_pixels());
    if constexpr (G.needs_im2col()) col2im_add<G>(dcol, group_dx);
  }
}

template <ConvGeometry G, class T>
void conv2d_backward(const Ctx<T>& ctx, const T* x, const T* dy, T* dx) {
  constexpr std::size_t in_size = G.in_channels * G.in_pixels();     // [Cin, H, W]
  constexpr std::size_t out_size = G.out_channels * G.out_pixels();  // [Cout, Ho, Wo]
  constexpr std::size_t partial_size = G.weight_size() + G.out_channels;
#if STRATA_DIRECT_CONV
  if constexpr (uses_direct_depthwise<G, T>) {
    direct_depthwise_backward<G>(ctx.threads, ctx.batch, ctx.params, x, dy, dx, ctx.grads,
                                 G.bias ? ctx.grads + G.weight_size() : nullptr);
    return;
  }
#endif
  constexpr bool direct = uses_direct_conv<G, T>;
  // Work items: single images, or for the direct path groups of images whose weight gradient
  // is reduced together.
  std::size_t group = 1;
#if STRATA_DIRECT_CONV
  if constexpr (direct) group = direct_weight_grad_images<G>(ctx.batch, ctx.threads);
#endif
  const std::size_t items = (ctx.batch + group - 1) / group;
  const std::size_t slots = std::min(ctx.threads, items);
  // Scratch: [columns per thread | packed weights] then one partial dW+dbias per thread.
  T* partials = ctx.scratch + (conv_scratch_size<G>(ctx.threads) - ctx.threads * partial_size);
  std::fill_n(partials, slots * partial_size, T(0));
#if STRATA_DIRECT_CONV
  if constexpr (direct)
    if (dx) direct_conv_backward_input<G>(ctx.threads, ctx.batch, ctx.params, dy, dx, ctx.scratch);
#endif
  parallel_for(slots, items, [&](std::size_t item, std::size_t slot) {
    T* dweight = partials + slot * partial_size;  // this thread's partial sums
    const std::size_t first = item * group, count = std::min(group, ctx.batch - first);
    if constexpr (direct) {
#if STRATA_DIRECT_CONV
      direct_conv_weight_grad<G>(count, x + first * in_size, dy + first * out_size, dweight);
#endif
    } else {
      conv2d_backward_image<G>(ctx.params, x + first * in_size, dy + first * out_size,
                               dx ? dx + first * in_size : nullptr,
                               ctx.scratch + slot * 2 * G.column_size(), dweight);
    }
    if constexpr (G.bias)
      for (std::size_t n = first; n < first + count; ++n)
        add_bias_grad<G>(dy + n * out_size, dweight + G.weight_size());
  });
  T* grads = ctx.grads;
  const std::size_t grad_size = G.weight_size() + (G.bias ? G.out_channels : 0);
  std::copy_n(partials, grad_size, grads);
  for (std::size_t s = 1; s < slots; ++s) {
    const T* partial = partials + s * partial_size;
    for (std::size_t i = 0; i < grad_size; ++i) grads[i] += partial[i];
  }
}

}  // namespace strata::backend::cpu
