// Operand shapes and PyTorch's indexing rules that every backend shares. Kept free of Eigen and
// of any CPU code so that nvcc can compile it into device code (with --expt-relaxed-constexpr,
// which lets kernels call these constexpr functions): the CPU and CUDA kernels then agree on
// output sizes, window bounds and tie rules by construction rather than by a second copy.
#pragma once

#include <algorithm>
#include <cstddef>

namespace strata::backend {

// Whether a GEMM operand is read as stored or transposed.
enum class Op { none, transpose };

struct ConvGeometry {
  std::size_t in_channels, height, width;
  std::size_t out_channels, kernel_h, kernel_w;
  std::size_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  std::size_t groups;
  bool bias;

  constexpr std::size_t out_height() const {
    return (height + 2 * pad_h - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
  }
  constexpr std::size_t out_width() const {
    return (width + 2 * pad_w - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
  }
  constexpr std::size_t in_per_group() const { return in_channels / groups; }
  constexpr std::size_t out_per_group() const { return out_channels / groups; }
  // Rows of one group's column matrix: the reduction length of its GEMM.
  constexpr std::size_t patch() const { return in_per_group() * kernel_h * kernel_w; }
  constexpr std::size_t out_pixels() const { return out_height() * out_width(); }
  constexpr std::size_t in_pixels() const { return height * width; }
  constexpr std::size_t weight_size() const { return out_channels * patch(); }
  // A 1x1, stride-1, unpadded convolution reads its input as the column matrix directly.
  constexpr bool needs_im2col() const {
    return !(kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 &&
             pad_w == 0);
  }
  constexpr std::size_t column_size() const { return needs_im2col() ? patch() * out_pixels() : 0; }
};

// nn.ZeroPad2d((left, right, top, bottom)): each height x width plane placed at (top, left) in
// a plane of zeros of the padded size.
struct PadGeometry {
  std::size_t height, width, left, right, top, bottom;

  constexpr std::size_t out_height() const { return top + height + bottom; }
  constexpr std::size_t out_width() const { return left + width + right; }
  constexpr std::size_t in_pixels() const { return height * width; }
  constexpr std::size_t out_pixels() const { return out_height() * out_width(); }
  // Whether padded position (row, column) holds an input element.
  constexpr bool inside(std::size_t row, std::size_t column) const {
    return row >= top && row < top + height && column >= left && column < left + width;
  }
};

struct PoolGeometry {
  std::size_t channels, height, width;
  std::size_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  bool ceil_mode;

  // PyTorch's pooling_output_shape: floor or ceil, and in ceil mode the last window must
  // start inside the (left-padded) input.
  static constexpr std::size_t out_size(std::size_t in, std::size_t k, std::size_t s, std::size_t p,
                                        bool ceil) {
    const std::size_t span = in + 2 * p - k;
    std::size_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
    if (ceil && (out - 1) * s >= in + p) --out;
    return out;
  }
  constexpr std::size_t out_height() const {
    return out_size(height, kernel_h, stride_h, pad_h, ceil_mode);
  }
  constexpr std::size_t out_width() const {
    return out_size(width, kernel_w, stride_w, pad_w, ceil_mode);
  }
  constexpr std::size_t in_pixels() const { return height * width; }
  constexpr std::size_t out_pixels() const { return out_height() * out_width(); }

  // Window bounds clipped to the input; PyTorch's avg-pool divisor also needs the bounds
  // clipped to the padded input only, returned as padded_area.
  struct Window {
    std::size_t h0, h1, w0, w1, padded_area;
  };
  constexpr Window window(std::size_t oh, std::size_t ow) const {
    const std::ptrdiff_t hs = static_cast<std::ptrdiff_t>(oh * stride_h) - std::ptrdiff_t(pad_h);
    const std::ptrdiff_t ws = static_cast<std::ptrdiff_t>(ow * stride_w) - std::ptrdiff_t(pad_w);
    const std::ptrdiff_t he =
        std::min<std::ptrdiff_t>(hs + std::ptrdiff_t(kernel_h), std::ptrdiff_t(height + pad_h));
    const std::ptrdiff_t we =
        std::min<std::ptrdiff_t>(ws + std::ptrdiff_t(kernel_w), std::ptrdiff_t(width + pad_w));
    const auto area = static_cast<std::size_t>((he - hs) * (we - ws));
    const auto clip = [](std::ptrdiff_t v, std::size_t hi) {
      return static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(v, 0, std::ptrdiff_t(hi)));
    };
    return {clip(hs, height), clip(he, height), clip(ws, width), clip(we, width), area};
  }
};

// PyTorch's max-pool update rule: a NaN wins, so a diverged network stays visibly NaN after
// pooling. Without short-circuit, so that callers compile to compare-and-select.
template <class T>
constexpr bool beats(T candidate, T best) {
  return (candidate > best) | (candidate != candidate);
}

// Index within the plane of the maximum of output (oh, ow)'s clipped window under that rule:
// the first maximum on ties, the last NaN if there is one. Both backends' reference argmax.
template <class T>
constexpr std::size_t window_argmax(const PoolGeometry& G, const T* plane, std::size_t oh,
                                    std::size_t ow) {
  const auto win = G.window(oh, ow);
  std::size_t best = win.h0 * G.width + win.w0;
  for (std::size_t h = win.h0; h < win.h1; ++h)
    for (std::size_t w = win.w0; w < win.w1; ++w)
      if (beats(plane[h * G.width + w], plane[best])) best = h * G.width + w;
  return best;
}

// Activations are [batch, channels, plane]; a flat input has a plane of 1.
struct NormGeometry {
  std::size_t channels, plane;
  constexpr std::size_t sample() const { return channels * plane; }
};

// A batch mean as two values of the activations' type, hi + lo, for centring in that type:
// x - hi is exact when x is within a factor of two of hi (Sterbenz), and subtracting lo then
// rounds only the small centred value. With the mean rounded to one float instead, 300 +- 0.05
// would be centred with an error of up to 1.5e-5, 3e-4 of its spread.
template <class T>
struct SplitMean {
  T hi, lo;
};

template <class T>
constexpr SplitMean<T> split_mean(double mean) {
  const T hi = static_cast<T>(mean);
  return {hi, static_cast<T>(mean - static_cast<double>(hi))};
}

// BatchNorm's saved state for backward, [3, C]: each channel's batch mean as hi and lo, and
// its 1/std.
inline constexpr std::size_t batchnorm_saved_rows = 3;

// Without padding or ceil mode every window lies inside the input, so kernels may use
// loops with compile-time bounds and no clipping.
template <PoolGeometry G>
inline constexpr bool interior_only = G.pad_h == 0 && G.pad_w == 0 && !G.ceil_mode;

// Windows that partition the input exactly (kernel == stride, sizes divisible): the common
// 2x2/2 pooling.
template <PoolGeometry G>
inline constexpr bool tiles_input = interior_only<G>&& G.kernel_h == G.stride_h&& G.kernel_w ==
                                        G.stride_w&& G.height % G.kernel_h == 0 &&
                                    G.width % G.kernel_w == 0;

// In training, overlapping or clipped windows (3x3/2, padded, ceil mode) keep each output's
// argmax for the backward, as PyTorch does: recomputing them costs more than the forward
// itself. Windows that tile the input (2x2/2) recompute it from x, cheaper than storing it.
template <PoolGeometry G>
inline constexpr bool max_pool_saves_indices = !tiles_input<G>;

// Indices are kept as T values, exact below 2^24 (float's integers).
template <PoolGeometry G>
constexpr std::size_t max_pool_saved_per_sample() {
  static_assert(G.in_pixels() < (std::size_t{1} << 24), "MaxPool2d: plane too large for indices");
  return max_pool_saves_indices<G> ? G.channels * G.out_pixels() : 0;
}

// Adaptive average pooling (nn.AdaptiveAvgPool2d): output i along an axis of `in` elements
// averages [floor(i * in / out), ceil((i + 1) * in / out)). Windows may overlap (7 -> 3) or
// repeat an input (1 -> 7), so unlike the fixed-window kernels no stride describes them.
struct AdaptivePoolGeometry {
  std::size_t channels, height, width, out_h, out_w;

  static constexpr std::size_t start(std::size_t i, std::size_t in, std::size_t out) {
    return i * in / out;
  }
  static constexpr std::size_t end(std::size_t i, std::size_t in, std::size_t out) {
    return ((i + 1) * in + out - 1) / out;
  }
  constexpr std::size_t out_height() const { return out_h; }
  constexpr std::size_t out_width() const { return out_w; }
  constexpr std::size_t in_pixels() const { return height * width; }
  constexpr std::size_t out_pixels() const { return out_h * out_w; }
  // Output equals input: every window is one pixel, and the layer is a copy.
  constexpr bool identity() const { return out_h == height && out_w == width; }
};

// LocalResponseNorm's window size and coefficients, a run-time argument: clang 14 has no
// floating-point template arguments.
struct LrnConstants {
  std::size_t size;
  double alpha, beta, k;
};

}  // namespace strata::backend
