// Pooling kernels for the CPU backend; one (image, channel) plane per task.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string_view>

#include "strata/backend/cpu/parallel.hpp"
#include "strata/layer.hpp"

namespace strata::backend::cpu {

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
};

// Window bounds clipped to the input; PyTorch's avg-pool divisor also needs the bounds clipped
// to the padded input only, returned as padded_area.
struct Window {
  std::size_t h0, h1, w0, w1, padded_area;
};

// Without padding or ceil mode every window lies inside the input, so the kernels below use
// loops with compile-time bounds and no clipping.
template <PoolGeometry G>
inline constexpr bool interior_only = G.pad_h == 0 && G.pad_w == 0 && !G.ceil_mode;

// Windows that partition the input exactly (kernel == stride, sizes divisible): the common
// 2x2/2 pooling.
template <PoolGeometry G>
inline constexpr bool tiles_input = interior_only<G>&& G.kernel_h == G.stride_h&& G.kernel_w ==
                                        G.stride_w&& G.height % G.kernel_h == 0 &&
                                    G.width % G.kernel_w == 0;

template <PoolGeometry G>
constexpr Window window(std::size_t oh, std::size_t ow) {
  const std::ptrdiff_t hs = static_cast<std::ptrdiff_t>(oh * G.stride_h) - std::ptrdiff_t(G.pad_h);
  const std::ptrdiff_t ws = static_cast<std::ptrdiff_t>(ow * G.stride_w) - std::ptrdiff_t(G.pad_w);
  const std::ptrdiff_t he =
      std::min<std::ptrdiff_t>(hs + std::ptrdiff_t(G.kernel_h), std::ptrdiff_t(G.height + G.pad_h));
  const std::ptrdiff_t we =
      std::min<std::ptrdiff_t>(ws + std::ptrdiff_t(G.kernel_w), std::ptrdiff_t(G.width + G.pad_w));
  const auto area = static_cast<std::size_t>((he - hs) * (we - ws));
  const auto clip = [](std::ptrdiff_t v, std::size_t hi) {
    return static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(v, 0, std::ptrdiff_t(hi)));
  };
  return {clip(hs, G.height), clip(he, G.height), clip(ws, G.width), clip(we, G.width), area};
}

// Whether output (oh, ow)'s window lies wholly inside the input: then it needs no clipping and
// its loops have compile-time bounds. With padding, that is every window but the border's.
template <PoolGeometry G>
constexpr bool window_inside(std::size_t oh, std::size_t ow) {
  return interior_only<G> ||
         (oh * G.stride_h >= G.pad_h && oh * G.stride_h - G.pad_h + G.kernel_h <= G.height &&
          ow * G.stride_w >= G.pad_w && ow * G.stride_w - G.pad_w + G.kernel_w <= G.width);
}

// Index within the plane of the top-left input of an inside window.
template <PoolGeometry G>
constexpr std::size_t window_origin(std::size_t oh, std::size_t ow) {
  return (oh * G.stride_h - G.pad_h) * G.width + ow * G.stride_w - G.pad_w;
}

// The maximum of an inside window, NaN if it holds one (PyTorch's `val > max || isnan(val)`).
// Branch-free: v > max ? v : max is one max instruction and the NaNs are counted, where a
// branch on random data would mispredict on every other element.
template <PoolGeometry G, class T>
T inside_window_max(const T* plane, std::size_t origin) {
  T max = -std::numeric_limits<T>::infinity();
  bool nan = false;
  for (std::size_t ki = 0; ki < G.kernel_h; ++ki)
    for (std::size_t kj = 0; kj < G.kernel_w; ++kj) {
      const T v = plane[origin + ki * G.width + kj];
      max = v > max ? v : max;
      nan |= v != v;
    }
  return nan ? std::numeric_limits<T>::quiet_NaN() : max;
}

// PyTorch's update rule: a NaN wins, so a diverged network stays visibly NaN after pooling.
// Without short-circuit, so that callers compile to compare-and-select.
template <class T>
bool beats(T candidate, T best) {
  return (candidate > best) | (candidate != candidate);
}

// Index within the plane of the maximum of output (oh, ow)'s window: the first on ties, the
// last NaN if there is one.
template <PoolGeometry G, class T>
std::size_t argmax(const T* plane, std::size_t oh, std::size_t ow) {
  if (window_inside<G>(oh, ow)) {
    const std::size_t origin = window_origin<G>(oh, ow);
    std::size_t best = origin;
    if constexpr (tiles_input<G>) {
      // Small disjoint windows: g++ turns this into selects.
      for (std::size_t ki = 0; ki < G.kernel_h; ++ki)
        for (std::size_t kj = 0; kj < G.kernel_w; ++kj) {
          const std::size_t at = origin + ki * G.width + kj;
          best = beats(plane[at], plane[best]) ? at : best;
        }
      return best;
    } else {
      // Overlapping windows (3x3/2): the same rule in arithmetic, which g++ does not turn back
      // into branches (4x faster on random data).
      T max = plane[origin];
      std::size_t nan_at = origin, nans = 0;
      for (std::size_t ki = 0; ki < G.kernel_h; ++ki)
        for (std::size_t kj = 0; kj < G.kernel_w; ++kj) {
          const std::size_t at = origin + ki * G.width + kj;
          const T v = plane[at];
          best += static_cast<std::size_t>(v > max) * (at - best);
          max = v > max ? v : max;
          const auto is_nan = static_cast<std::size_t>(v != v);
          nan_at += is_nan * (at - nan_at);
          nans += is_nan;
        }
      return nans != 0 ? nan_at : best;
    }
  }
  const Window win = window<G>(oh, ow);
  std::size_t best = win.h0 * G.width + win.w0;
  for (std::size_t h = win.h0; h < win.h1; ++h)
    for (std::size_t w = win.w0; w < win.w1; ++w)
      if (beats(plane[h * G.width + w], plane[best])) best = h * G.width + w;
  return best;
}

template <PoolGeometry G, class T>
void max_pool_forward(std::size_t threads, std::size_t batch, const T* x, T* y) {
  parallel_for(threads, batch * G.channels, [&](std::size_t p, std::size_t) {
    const T* plane = x + p * G.in_pixels();
    T* out = y + p * G.out_pixels();
    for (std::size_t oh = 0; oh < G.out_height(); ++oh)
      for (std::size_t ow = 0; ow < G.out_width(); ++ow) {
        out[oh * G.out_width() + ow] = window_inside<G>(oh, ow)
                                           ? inside_window_max<G>(plane, window_origin<G>(oh, ow))
                                           : plane[argmax<G>(plane, oh, ow)];
      }
  });
}

// Recomputes each window's argmax from the saved input instead of storing indices: the
// recomputation is cheaper than the memory traffic of an index tensor.
template <PoolGeometry G, class T>
void max_pool_backward(std::size_t threads, std::size_t batch, const T* x, const T* dy, T* dx) {
  parallel_for(threads, batch * G.channels, [&](std::size_t p, std::size_t) {
    const T* plane = x + p * G.in_pixels();
    const T* grad_out = dy + p * G.out_pixels();
    T* grad_in = dx + p * G.in_pixels();
    if constexpr (tiles_input<G>) {
      // Every input lies in exactly one window: write each once, no zero-fill pass.
      for (std::size_t oh = 0; oh < G.out_height(); ++oh)
        for (std::size_t ow = 0; ow < G.out_width(); ++ow) {
          const std::size_t origin = oh * G.stride_h * G.width + ow * G.stride_w;
          const std::size_t best = argmax<G>(plane, oh, ow);
          const T g = grad_out[oh * G.out_width() + ow];
          for (std::size_t ki = 0; ki < G.kernel_h; ++ki)
            for (std::size_t kj = 0; kj < G.kernel_w; ++kj) {
              const std::size_t at = origin + ki * G.width + kj;
              grad_in[at] = at == best ? g : T(0);
            }
        }
    } else {
      std::fill_n(grad_in, G.in_pixels(), T(0));
      for (std::size_t oh = 0; oh < G.out_height(); ++oh)
        for (std::size_t ow = 0; ow < G.out_width(); ++ow)
          grad_in[argmax<G>(plane, oh, ow)] += grad_out[oh * G.out_width() + ow];
    }
  });
}

// Average pooling with count_include_pad (PyTorch's default): padding counts in the divisor.
template <PoolGeometry G, class T>
void avg_pool_forward(std::size_t threads, std::size_t batch, const T* x, T* y) {
  parallel_for(threads, batch * G.channels, [&](std::size_t p, std::size_t) {
    const T* plane = x + p * G.in_pixels();
    T* out = y + p * G.out_pixels();
    for (std::size_t oh = 0; oh < G.out_height(); ++oh)
      for (std::size_t ow = 0; ow < G.out_width(); ++ow) {
        T sum = 0;
        if (window_inside<G>(oh, ow)) {
          const T* origin = plane + window_origin<G>(oh, ow);
          for (std::size_t ki = 0; ki < G.kernel_h; ++ki)
            for (std::size_t kj = 0; kj < G.kernel_w; ++kj) sum += origin[ki * G.width + kj];
          out[oh * G.out_width() + ow] = sum / static_cast<T>(G.kernel_h * G.kernel_w);
          continue;
        }
        const Window win = window<G>(oh, ow);
        for (std::size_t h = win.h0; h < win.h1; ++h)
          for (std::size_t w = win.w0; w < win.w1; ++w) sum += plane[h * G.width + w];
        out[oh * G.out_width() + ow] = sum / static_cast<T>(win.padded_area);
      }
  });
}

template <PoolGeometry G, class T>
void avg_pool_backward(std::size_t threads, std::size_t batch, const T* dy, T* dx) {
  parallel_for(threads, batch * G.channels, [&](std::size_t p, std::size_t) {
    const T* grad_out = dy + p * G.out_pixels();
    T* grad_in = dx + p * G.in_pixels();
    std::fill_n(grad_in, G.in_pixels(), T(0));
    for (std::size_t oh = 0; oh < G.out_height(); ++oh)
      for (std::size_t ow = 0; ow < G.out_width(); ++ow) {
        const T g = grad_out[oh * G.out_width() + ow];
        if (window_inside<G>(oh, ow)) {
          T* origin = grad_in + window_origin<G>(oh, ow);
          const T share = g / static_cast<T>(G.kernel_h * G.kernel_w);
          for (std::size_t ki = 0; ki < G.kernel_h; ++ki)
            for (std::size_t kj = 0; kj < G.kernel_w; ++kj) origin[ki * G.width + kj] += share;
          continue;
        }
        const Window win = window<G>(oh, ow);
        const T share = g / static_cast<T>(win.padded_area);
        for (std::size_t h = win.h0; h < win.h1; ++h)
          for (std::size_t w = win.w0; w < win.w1; ++w) grad_in[h * G.width + w] += share;
      }
  });
}

// The kernel sets that pooling layers are bound to.
struct MaxPoolKernels {
  static constexpr std::string_view name = "MaxPool2d";
  template <PoolGeometry G, class T>
  static void forward(std::size_t threads, std::size_t batch, const T* x, T* y) {
    max_pool_forward<G>(threads, batch, x, y);
  }
  template <PoolGeometry G, class T>
  static void backward(std::size_t threads, std::size_t batch, const T* x, const T* dy, T* dx) {
    max_pool_backward<G>(threads, batch, x, dy, dx);
  }
};

struct AvgPoolKernels {
  static constexpr std::string_view name = "AvgPool2d";
  template <PoolGeometry G, class T>
  static void forward(std::size_t threads, std::size_t batch, const T* x, T* y) {
    avg_pool_forward<G>(threads, batch, x, y);
  }
  template <PoolGeometry G, class T>
  static void backward(std::size_t threads, std::size_t batch, const T*, const T* dy, T* dx) {
    avg_pool_backward<G>(threads, batch, dy, dx);
  }
};

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

template <AdaptivePoolGeometry G, class T>
void adaptive_avg_pool_forward(std::size_t threads, std::size_t batch, const T* x, T* y) {
  if constexpr (G.identity()) {
    std::copy_n(x, batch * G.channels * G.in_pixels(), y);
  } else {
    parallel_for(threads, batch * G.channels, [&](std::size_t p, std::size_t) {
      const T* plane = x + p * G.in_pixels();
      T* out = y + p * G.out_pixels();
      for (std::size_t oh = 0; oh < G.out_h; ++oh) {
        const std::size_t h0 = G.start(oh, G.height, G.out_h), h1 = G.end(oh, G.height, G.out_h);
        for (std::size_t ow = 0; ow < G.out_w; ++ow) {
          const std::size_t w0 = G.start(ow, G.width, G.out_w), w1 = G.end(ow, G.width, G.out_w);
          T sum = 0;
          for (std::size_t h = h0; h < h1; ++h)
            for (std::size_t w = w0; w < w1; ++w) sum += plane[h * G.width + w];
          out[oh * G.out_w + ow] = sum / static_cast<T>((h1 - h0) * (w1 - w0));
        }
      }
    });
  }
}

template <AdaptivePoolGeometry G, class T>
void adaptive_avg_pool_backward(std::size_t threads, std::size_t batch, const T* dy, T* dx) {
  if constexpr (G.identity()) {
    std::copy_n(dy, batch * G.channels * G.in_pixels(), dx);
  } else {
    parallel_for(threads, batch * G.channels, [&](std::size_t p, std::size_t) {
      const T* grad_out = dy + p * G.out_pixels();
      T* grad_in = dx + p * G.in_pixels();
      std::fill_n(grad_in, G.in_pixels(), T(0));
      for (std::size_t oh = 0; oh < G.out_h; ++oh) {
        const std::size_t h0 = G.start(oh, G.height, G.out_h), h1 = G.end(oh, G.height, G.out_h);
        for (std::size_t ow = 0; ow < G.out_w; ++ow) {
          const std::size_t w0 = G.start(ow, G.width, G.out_w), w1 = G.end(ow, G.width, G.out_w);
          const T share = grad_out[oh * G.out_w + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
          for (std::size_t h = h0; h < h1; ++h)
            for (std::size_t w = w0; w < w1; ++w) grad_in[h * G.width + w] += share;
        }
      }
    });
  }
}

struct AdaptiveAvgPoolKernels {
  static constexpr std::string_view name = "AdaptiveAvgPool2d";
  template <AdaptivePoolGeometry G, class T>
  static void forward(std::size_t threads, std::size_t batch, const T* x, T* y) {
    adaptive_avg_pool_forward<G>(threads, batch, x, y);
  }
  template <AdaptivePoolGeometry G, class T>
  static void backward(std::size_t threads, std::size_t batch, const T*, const T* dy, T* dx) {
    adaptive_avg_pool_backward<G>(threads, batch, dy, dx);
  }
};

}  // namespace strata::backend::cpu
