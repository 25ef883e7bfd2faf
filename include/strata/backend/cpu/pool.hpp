// Pooling kernels for the CPU backend; one (image, channel) plane per task.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "strata/backend/cpu/parallel.hpp"
#include "strata/backend/geometry.hpp"

namespace strata::backend::cpu {

using backend::AdaptivePoolGeometry;
using backend::beats;
using backend::PoolGeometry;

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
  return backend::window_argmax(G, plane, oh, ow);
}

// saved: where to keep the indices (training), or null (inference needs only the values).
template <PoolGeometry G, class T>
void max_pool_forward(std::size_t threads, std::size_t batch, const T* x, T* y, T* saved) {
  parallel_for(threads, batch * G.channels, [&](std::size_t p, std::size_t) {
    const T* plane = x + p * G.in_pixels();
    T* out = y + p * G.out_pixels();
    T* indices = max_pool_saves_indices<G> && saved ? saved + p * G.out_pixels() : nullptr;
    for (std::size_t oh = 0; oh < G.out_height(); ++oh)
      for (std::size_t ow = 0; ow < G.out_width(); ++ow) {
        const std::size_t o = oh * G.out_width() + ow;
        if (indices) {
          const std::size_t best = argmax<G>(plane, oh, ow);
          indices[o] = static_cast<T>(best);
          out[o] = plane[best];
        } else if (window_inside<G>(oh, ow)) {
          out[o] = inside_window_max<G>(plane, window_origin<G>(oh, ow));
        } else {
          out[o] = plane[argmax<G>(plane, oh, ow)];
        }
      }
  });
}

template <PoolGeometry G, class T>
void max_pool_backward(std::size_t threads, std::size_t batch, const T* x, const T* saved,
                       const T* dy, T* dx) {
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
      const T* indices = saved ? saved + p * G.out_pixels() : nullptr;
      for (std::size_t oh = 0; oh < G.out_height(); ++oh)
        for (std::size_t ow = 0; ow < G.out_width(); ++ow) {
          const std::size_t o = oh * G.out_width() + ow;
          const std::size_t best =
              indices ? static_cast<std::size_t>(indices[o]) : argmax<G>(plane, oh, ow);
          grad_in[best] += grad_out[o];
        }
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
        const auto win = G.window(oh, ow);
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
        const auto win = G.window(oh, ow);
        const T share = g / static_cast<T>(win.padded_area);
        for (std::size_t h = win.h0; h < win.h1; ++h)
          for (std::size_t w = win.w0; w < win.w1; ++w) grad_in[h * G.width + w] += share;
      }
  });
}

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

}  // namespace strata::backend::cpu
