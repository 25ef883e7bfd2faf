// Convolution on the CPU: im2col + GEMM per group, over one image or, for small output planes,
// several images side by side; images spread over threads. The geometry is a template argument,
// so every loop bound below is a compile-time constant.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

#include "strata/backend/cpu/direct_conv.hpp"
#include "strata/backend/cpu/gemm.hpp"
#include "strata/backend/cpu/parallel.hpp"
#include "strata/backend/geometry.hpp"

namespace strata::backend::cpu {

using backend::ConvGeometry;

// What one convolution call runs on: the batch, the layer's parameters and gradients
// ([weight | bias], PyTorch's layout) and conv_scratch_size<G>(threads) elements of scratch.
template <class T>
struct ConvCall {
  std::size_t threads, batch;
  const T* params;
  T* grads;
  T* scratch;
};

// Along one axis, for kernel offset k (its index times the dilation), the output positions
// [begin, end) whose input position lies inside the image; the rest read padding.
// Compile-time, so the hot loops below carry no bounds tests.
struct ValidRange {
  std::size_t begin, end;
};

template <std::size_t Kernel>
constexpr std::array<ValidRange, Kernel> valid_ranges(std::size_t out, std::size_t stride,
                                                      std::size_t dilation, std::size_t pad,
                                                      std::size_t size) {
  std::array<ValidRange, Kernel> ranges{};
  for (std::size_t k = 0; k < Kernel; ++k) {
    std::size_t begin = out, end = 0;
    for (std::size_t o = 0; o < out; ++o) {
      const std::size_t i = o * stride + k * dilation;  // shifted by pad
      if (i >= pad && i < pad + size) {
        begin = std::min(begin, o);
        end = o + 1;
      }
    }
    ranges[k] = begin < end ? ValidRange{begin, end} : ValidRange{0, 0};
  }
  return ranges;
}

template <ConvGeometry G>
constexpr std::array<ValidRange, G.kernel_w> valid_columns() {
  return valid_ranges<G.kernel_w>(G.out_width(), G.stride_w, G.dilation_w, G.pad_w, G.width);
}
template <ConvGeometry G>
constexpr std::array<ValidRange, G.kernel_h> valid_rows() {
  return valid_ranges<G.kernel_h>(G.out_height(), G.stride_h, G.dilation_h, G.pad_h, G.height);
}

// Visits every (column-matrix row, output row) pair whose input row lies inside the image, with
// pointers to both rows; rows reading padding are passed to on_padding_row. Column-matrix rows
// are `ld` apart, so that several images' columns can sit side by side.
template <ConvGeometry G, class T, class U, class RowFn, class PadFn>
void for_each_patch_row(T* col, std::size_t ld, U* input, RowFn&& on_row, PadFn&& on_padding_row) {
  constexpr std::size_t oh_n = G.out_height(), ow_n = G.out_width();
  for (std::size_t c = 0; c < G.in_per_group(); ++c) {
    U* plane = input + c * G.in_pixels();
    for (std::size_t ki = 0; ki < G.kernel_h; ++ki) {
      for (std::size_t kj = 0; kj < G.kernel_w; ++kj) {
        T* row = col + ((c * G.kernel_h + ki) * G.kernel_w + kj) * ld;
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

// col[patch x out_pixels] (rows `ld` apart) from one group's input channels [in_per_group x H x W].
template <ConvGeometry G, class T>
void im2col(const T* input, T* col, std::size_t ld = G.out_pixels()) {
  constexpr auto ranges = valid_columns<G>();
  constexpr std::size_t ow_n = G.out_width();
  for_each_patch_row<G>(
      col, ld, input,
      [&](T* out, const T* in_row, std::size_t kj) {
        const ValidRange r = ranges[kj];
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
void col2im_add(const T* col, T* input, std::size_t ld = G.out_pixels()) {
  constexpr auto ranges = valid_columns<G>();
  for_each_patch_row<G>(
      col, ld, input,
      [&](const T* from, T* in_row, std::size_t kj) {
        const ValidRange r = ranges[kj];
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
// On planes of 14x14 and smaller, products over several images' columns compute the weight
// gradient faster than the direct kernel, whose tiles of 8 rows x kernel width then
// cover few pixels.
template <ConvGeometry G>
inline constexpr bool direct_weight_grad_wins = G.out_pixels() > 14 * 14;
template <ConvGeometry G, class T>
inline constexpr bool uses_direct_depthwise = direct_kernels_for<T>&& direct_depthwise_applies<G>;

// Depthwise convolutions off the direct path (strided ones, double, builds without AVX-512),
// one plane at a time over the valid ranges: as GEMM products they were one [1 x taps] by
// [taps x Ho*Wo] product per channel, at a few GFLOP/s and on one thread at batch 1.
// `visit(tap, out_row, ow_begin, ow_end, in_index)`: output positions out_row + [ow_begin,
// ow_end) read the input plane from in_index on, stride_w apart.
template <ConvGeometry G, class Visit>
void for_each_depthwise_span(Visit&& visit) {
  constexpr auto rows = valid_rows<G>();
  constexpr auto columns = valid_columns<G>();
  for (std::size_t ki = 0; ki < G.kernel_h; ++ki)
    for (std::size_t oh = rows[ki].begin; oh < rows[ki].end; ++oh) {
      const std::size_t ih = oh * G.stride_h + ki * G.dilation_h - G.pad_h;
      for (std::size_t kj = 0; kj < G.kernel_w; ++kj) {
        const ValidRange r = columns[kj];
        if (r.begin < r.end)
          visit(ki * G.kernel_w + kj, oh * G.out_width(), r.begin, r.end,
                ih * G.width + r.begin * G.stride_w + kj * G.dilation_w - G.pad_w);
      }
    }
}

template <ConvGeometry G, class T>
void depthwise_forward(const ConvCall<T>& call, const T* x, T* y) {
  constexpr std::size_t taps = G.kernel_h * G.kernel_w;
  parallel_for(call.threads, call.batch * G.in_channels, [&](std::size_t plane, std::size_t) {
    const std::size_t c = plane % G.in_channels;
    const T* weight = call.params + c * taps;  // [kh, kw]
    const T* in = x + plane * G.in_pixels();   // [H, W]
    T* out = y + plane * G.out_pixels();       // [Ho, Wo]
    std::fill_n(out, G.out_pixels(), G.bias ? call.params[G.weight_size() + c] : T(0));
    for_each_depthwise_span<G>([&](std::size_t tap, std::size_t row, std::size_t begin,
                                   std::size_t end, std::size_t from) {
      const T w = weight[tap];
      for (std::size_t ow = begin; ow < end; ++ow)
        out[row + ow] += w * in[from + (ow - begin) * G.stride_w];
    });
  });
}

// Threads take channels, each summing its weight gradient over the batch: no partial sums.
template <ConvGeometry G, class T>
void depthwise_backward(const ConvCall<T>& call, const T* x, const T* dy, T* dx) {
  constexpr std::size_t taps = G.kernel_h * G.kernel_w;
  parallel_for(call.threads, G.in_channels, [&](std::size_t c, std::size_t) {
    const T* weight = call.params + c * taps;  // [kh, kw]
    std::array<T, taps> dweight{};
    T dbias = 0;
    for (std::size_t n = 0; n < call.batch; ++n) {
      const std::size_t plane = n * G.in_channels + c;
      const T* in = x + plane * G.in_pixels();                 // [H, W]
      const T* grad_out = dy + plane * G.out_pixels();         // [Ho, Wo]
      T* grad_in = dx ? dx + plane * G.in_pixels() : nullptr;  // [H, W]
      if (grad_in) std::fill_n(grad_in, G.in_pixels(), T(0));
      for (std::size_t p = 0; p < G.out_pixels(); ++p) dbias += grad_out[p];
      for_each_depthwise_span<G>([&](std::size_t tap, std::size_t row, std::size_t begin,
                                     std::size_t end, std::size_t from) {
        T sum = 0;
        for (std::size_t ow = begin; ow < end; ++ow)
          sum += grad_out[row + ow] * in[from + (ow - begin) * G.stride_w];
        dweight[tap] += sum;
        if (!grad_in) return;
        const T w = weight[tap];
        for (std::size_t ow = begin; ow < end; ++ow)
          grad_in[from + (ow - begin) * G.stride_w] += w * grad_out[row + ow];
      });
    }
    std::copy(dweight.begin(), dweight.end(), call.grads + c * taps);
    if constexpr (G.bias) call.grads[G.weight_size() + c] = dbias;
  });
}

// Per-image products of a small output plane (16 or 49 columns for 4x4 and 7x7) keep Eigen's
// GEMM kernel far from its peak; such planes are computed several images to a product, with
// about this many columns.
inline constexpr std::size_t product_columns = 256;

template <ConvGeometry G>
constexpr std::size_t max_images_per_product() {
  return (product_columns + G.out_pixels() - 1) / G.out_pixels();
}

// As many images per product as the plane needs, but never so many that a thread has none.
template <ConvGeometry G>
std::size_t images_per_product(std::size_t batch, std::size_t threads) {
  return std::clamp<std::size_t>((batch + threads - 1) / threads, 1, max_images_per_product<G>());
}

// A thread's slot: one product's column matrix (whose buffer then takes the columns' gradient)
// and, when the product spans several images, its result before it is scattered to the images
// (forward) or their output gradients gathered side by side (backward).
template <ConvGeometry G>
constexpr std::size_t conv_slot_size() {
  constexpr std::size_t images = max_images_per_product<G>();
  if (images == 1) return G.column_size();
  return images * G.out_pixels() * (G.patch() + G.out_per_group());
}

// Per thread: a slot and a private weight+bias gradient; the direct path needs its packed
// weights beside the private gradients instead of the slots.
template <ConvGeometry G>
constexpr std::size_t conv_scratch_size(std::size_t threads) {
  if (depthwise<G>()) return 0;  // neither depthwise path needs scratch
  const std::size_t partials = threads * (G.weight_size() + G.out_channels);
  const std::size_t direct = uses_direct_conv<G, float> ? G.weight_size() : 0;
  return std::max(threads * conv_slot_size<G>(), direct) + partials;
}

// The column matrix of group g of `count` images, side by side: [patch, count * Ho*Wo]. A
// single image of a 1x1 stride-1 convolution is its own column matrix.
template <ConvGeometry G, class T>
const T* group_columns(const T* images, std::size_t count, std::size_t g, T* slot) {
  constexpr std::size_t in_size = G.in_channels * G.in_pixels();
  const T* group_in = images + g * G.in_per_group() * G.in_pixels();
  if (count == 1 && !G.needs_im2col()) return group_in;
  for (std::size_t n = 0; n < count; ++n)
    im2col<G>(group_in + n * in_size, slot + n * G.out_pixels(), count * G.out_pixels());
  return slot;
}

// `count` images: out[Cout, Ho*Wo] = W * columns (+ bias) for each, one product per group over
// the images' columns side by side; a single image's product is split over `gemm_threads` (more
// than one only when there are fewer images than threads).
template <ConvGeometry G, class T>
void conv2d_forward_images(const T* params, std::size_t count, const T* images, T* out, T* slot,
                           std::size_t gemm_threads) {
  constexpr std::size_t pixels = G.out_pixels(), out_size = G.out_channels * pixels;
  const std::size_t columns_n = count * pixels;
  const T* weight = params;
  const T* bias = G.bias ? params + G.weight_size() : nullptr;
  T* product = slot + G.patch() * columns_n;  // [Cout/g, count * Ho*Wo], when count > 1
  if (G.bias && count == 1)
    // The bias initialises the output, which the product then accumulates into.
    for (std::size_t c = 0; c < G.out_channels; ++c) std::fill_n(out + c * pixels, pixels, bias[c]);
  for (std::size_t g = 0; g < G.groups; ++g) {
    const T* columns = group_columns<G>(images, count, g, slot);  // [patch, count * Ho*Wo]
    T* group_out = out + g * G.out_per_group() * pixels;
    // out_g[Cout/g, count * Ho*Wo] = W_g[Cout/g, patch] * columns
    gemm_parallel<T>(gemm_threads, Op::none, Op::none, G.out_per_group(), columns_n, G.patch(),
                     T(1), weight + g * G.out_per_group() * G.patch(), G.patch(), columns,
                     columns_n, G.bias && count == 1 ? T(1) : T(0),
                     count == 1 ? group_out : product, columns_n);
    if (count == 1) continue;
    for (std::size_t n = 0; n < count; ++n)
      for (std::size_t c = 0; c < G.out_per_group(); ++c) {
        const T shift = G.bias ? bias[g * G.out_per_group() + c] : T(0);
        const T* from = product + c * columns_n + n * pixels;
        T* to = group_out + n * out_size + c * pixels;  // [Ho*Wo]
        for (std::size_t p = 0; p < pixels; ++p) to[p] = from[p] + shift;
      }
  }
}

template <ConvGeometry G, class T>
void conv2d_forward(const ConvCall<T>& call, const T* x, T* y) {
  constexpr std::size_t in_size = G.in_channels * G.in_pixels();     // [Cin, H, W]
  constexpr std::size_t out_size = G.out_channels * G.out_pixels();  // [Cout, Ho, Wo]
#if STRATA_DIRECT_CONV
  const T* bias = G.bias ? call.params + G.weight_size() : nullptr;
  if constexpr (uses_direct_conv<G, T>) {
    direct_conv_forward<G>(call.threads, call.batch, call.params, bias, x, y, call.scratch);
    return;
  }
  if constexpr (uses_direct_depthwise<G, T>) {
    direct_depthwise_forward<G>(call.threads, call.batch, call.params, bias, x, y);
    return;
  }
#endif
  if constexpr (depthwise<G>()) {
    depthwise_forward<G>(call, x, y);
    return;
  }
  if (call.batch < call.threads) {
    // Too few images to occupy every thread (inference latency): split each product instead.
    for (std::size_t n = 0; n < call.batch; ++n)
      conv2d_forward_images<G>(call.params, 1, x + n * in_size, y + n * out_size, call.scratch,
                               call.threads);
    return;
  }
  const std::size_t group = images_per_product<G>(call.batch, call.threads);
  parallel_for(
      call.threads, (call.batch + group - 1) / group, [&](std::size_t item, std::size_t slot) {
        const std::size_t first = item * group, count = std::min(group, call.batch - first);
        conv2d_forward_images<G>(call.params, count, x + first * in_size, y + first * out_size,
                                 call.scratch + slot * conv_slot_size<G>(), 1);
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

// The generic backward of `count` images, with the forward's products: dW and dbias into this
// thread's partial sums, dx written.
template <ConvGeometry G, class T>
void conv2d_backward_images(const T* weight, std::size_t count, const T* images, const T* grad_out,
                            T* grad_in, T* slot, T* dweight) {
  constexpr std::size_t pixels = G.out_pixels(), out_size = G.out_channels * pixels;
  constexpr std::size_t in_size = G.in_channels * G.in_pixels();
  const std::size_t columns_n = count * pixels;
  T* gathered_dy = slot + G.patch() * columns_n;  // [Cout/g, count * Ho*Wo], when count > 1
  if (grad_in) std::fill_n(grad_in, count * in_size, T(0));
  for (std::size_t g = 0; g < G.groups; ++g) {
    const T* columns = group_columns<G>(images, count, g, slot);  // [patch, count * Ho*Wo]
    const T* group_dy = grad_out + g * G.out_per_group() * pixels;
    if (count > 1) {
      for (std::size_t n = 0; n < count; ++n)
        for (std::size_t c = 0; c < G.out_per_group(); ++c)
          std::copy_n(group_dy + n * out_size + c * pixels, pixels,
                      gathered_dy + c * columns_n + n * pixels);
      group_dy = gathered_dy;  // [Cout/g, count * Ho*Wo]
    }
    // dW_g[Cout/g, patch] += dy_g[Cout/g, count * Ho*Wo] * columns^T
    gemm<T>(Op::none, Op::transpose, G.out_per_group(), G.patch(), columns_n, T(1), group_dy,
            columns_n, columns, columns_n, T(1), dweight + g * G.out_per_group() * G.patch(),
            G.patch());
    if (!grad_in) continue;
    T* group_dx = grad_in + g * G.in_per_group() * G.in_pixels();
    // dcolumns[patch, count * Ho*Wo] = W_g^T * dy_g, into the spent columns' buffer, or
    // straight into dx when the image was its own column matrix.
    const bool own_columns = columns != slot;
    T* dcolumns = own_columns ? group_dx : slot;
    gemm<T>(Op::transpose, Op::none, G.patch(), columns_n, G.out_per_group(), T(1),
            weight + g * G.out_per_group() * G.patch(), G.patch(), group_dy, columns_n, T(0),
            dcolumns, columns_n);
    if (!own_columns)
      for (std::size_t n = 0; n < count; ++n)
        col2im_add<G>(slot + n * pixels, group_dx + n * in_size, columns_n);
  }
}

template <ConvGeometry G, class T>
void conv2d_backward(const ConvCall<T>& call, const T* x, const T* dy, T* dx) {
  constexpr std::size_t in_size = G.in_channels * G.in_pixels();     // [Cin, H, W]
  constexpr std::size_t out_size = G.out_channels * G.out_pixels();  // [Cout, Ho, Wo]
  constexpr std::size_t partial_size = G.weight_size() + G.out_channels;
#if STRATA_DIRECT_CONV
  if constexpr (uses_direct_depthwise<G, T>) {
    direct_depthwise_backward<G>(call.threads, call.batch, call.params, x, dy, dx, call.grads,
                                 G.bias ? call.grads + G.weight_size() : nullptr);
    return;
  }
#endif
  if constexpr (depthwise<G>()) {
    depthwise_backward<G>(call, x, dy, dx);
    return;
  }
  constexpr bool direct = uses_direct_conv<G, T>;
  constexpr bool direct_weight = direct && direct_weight_grad_wins<G>;
  // Work items: groups of images, computed together as in the forward, or for the direct
  // weight gradient reduced together.
  std::size_t group = images_per_product<G>(call.batch, call.threads);
#if STRATA_DIRECT_CONV
  if constexpr (direct_weight) group = direct_weight_grad_images<G>(call.batch, call.threads);
#endif
  const std::size_t items = (call.batch + group - 1) / group;
  const std::size_t slots = std::min(call.threads, items);
  // Scratch: [a slot per thread | packed weights] then one partial dW+dbias per thread.
  T* partials = call.scratch + (conv_scratch_size<G>(call.threads) - call.threads * partial_size);
  std::fill_n(partials, slots * partial_size, T(0));
#if STRATA_DIRECT_CONV
  if constexpr (direct)
    if (dx)
      direct_conv_backward_input<G>(call.threads, call.batch, call.params, dy, dx, call.scratch);
#endif
  parallel_for(slots, items, [&](std::size_t item, std::size_t slot) {
    T* dweight = partials + slot * partial_size;  // this thread's partial sums
    const std::size_t first = item * group, count = std::min(group, call.batch - first);
    if constexpr (direct_weight) {
#if STRATA_DIRECT_CONV
      direct_conv_weight_grad<G>(count, x + first * in_size, dy + first * out_size, dweight);
#endif
    } else {
      // Where the direct kernel wrote dx already, only the weight gradient is left.
      conv2d_backward_images<G>(call.params, count, x + first * in_size, dy + first * out_size,
                                dx && !direct ? dx + first * in_size : nullptr,
                                call.scratch + slot * conv_slot_size<G>(), dweight);
    }
    if constexpr (G.bias)
      for (std::size_t n = first; n < first + count; ++n)
        add_bias_grad<G>(dy + n * out_size, dweight + G.weight_size());
  });
  T* grads = call.grads;
  const std::size_t grad_size = G.weight_size() + (G.bias ? G.out_channels : 0);
  std::copy_n(partials, grad_size, grads);
  for (std::size_t s = 1; s < slots; ++s) {
    const T* partial = partials + s * partial_size;
    for (std::size_t i = 0; i < grad_size; ++i) grads[i] += partial[i];
  }
}

}  // namespace strata::backend::cpu
