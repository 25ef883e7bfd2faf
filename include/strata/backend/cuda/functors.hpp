// The CUDA backend's device work: one host-and-device functor per operation, called by Thrust
// once per output element (or per row, plane or channel where an element needs a reduction).
// Index arithmetic only; the rules themselves (window bounds, tie rules, activation formulas)
// come from backend/geometry.hpp and backend/formulas.hpp, shared with the CPU backend.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "strata/backend/cuda/device.hpp"
#include "strata/backend/formulas.hpp"
#include "strata/backend/geometry.hpp"

namespace strata::backend::cuda {

using index = std::size_t;
using signed_index = std::ptrdiff_t;

// ----- element-wise ------------------------------------------------------------------------

template <class Act, class T>
struct ActivationForward {
  const T* x;
  T* y;
  STRATA_HOST_DEVICE void operator()(index i) const { y[i] = activation_rule<Act>::forward(x[i]); }
};

template <class Act, class T>
struct ActivationBackward {
  const T *x, *y, *dy;
  T* dx;
  STRATA_HOST_DEVICE void operator()(index i) const {
    dx[i] = activation_rule<Act>::backward(x ? x[i] : T(0), y ? y[i] : T(0), dy[i]);
  }
};

// Softmax of one row, its maximum subtracted first so that exp cannot overflow.
template <class T>
struct SoftmaxRow {
  index features;
  const T* x;
  T* y;
  STRATA_HOST_DEVICE void operator()(index r) const {
    const T* in = x + r * features;
    T* out = y + r * features;
    T top = in[0];
    for (index k = 1; k < features; ++k) top = in[k] > top ? in[k] : top;
    T sum = 0;
    for (index k = 0; k < features; ++k) sum += out[k] = std::exp(in[k] - top);
    for (index k = 0; k < features; ++k) out[k] /= sum;
  }
};

// dx = y * (dy - sum(dy * y)) of one row.
template <class T>
struct SoftmaxBackwardRow {
  index features;
  const T *y, *dy;
  T* dx;
  STRATA_HOST_DEVICE void operator()(index r) const {
    const index at = r * features;
    T dot = 0;
    for (index k = 0; k < features; ++k) dot += dy[at + k] * y[at + k];
    for (index k = 0; k < features; ++k) dx[at + k] = y[at + k] * (dy[at + k] - dot);
  }
};

template <class T>
struct ScalePlanes {
  index plane;
  const T *x, *factors, *addend;
  T* y;
  STRATA_HOST_DEVICE void operator()(index i) const {
    y[i] = x[i] * factors[i / plane] + (addend ? addend[i] : T(0));
  }
};

template <class T>
struct PlaneDot {
  index plane;
  const T *a, *b;
  T* out;
  STRATA_HOST_DEVICE void operator()(index p) const {
    T sum = 0;
    for (index k = p * plane; k < (p + 1) * plane; ++k) sum += a[k] * b[k];
    out[p] = sum;
  }
};

template <class T>
struct CopyBlocks {
  index width;
  const T* from;
  index from_stride;
  T* to;
  index to_stride;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index block = i / width, at = i % width;
    to[block * to_stride + at] = from[block * from_stride + at];
  }
};

// Output element i of ZeroPad2d: its input element, or zero in the border.
template <PadGeometry G, class T>
struct ZeroPadForward {
  const T* x;
  T* y;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index plane = i / G.out_pixels(), at = i % G.out_pixels();
    const index row = at / G.out_width(), column = at % G.out_width();
    y[i] = G.inside(row, column)
               ? x[plane * G.in_pixels() + (row - G.top) * G.width + (column - G.left)]
               : T(0);
  }
};

// Input element i of ZeroPad2d's gradient: the padded gradient at its position.
template <PadGeometry G, class T>
struct ZeroPadBackward {
  const T* dy;
  T* dx;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index plane = i / G.in_pixels(), at = i % G.in_pixels();
    const index row = at / G.width, column = at % G.width;
    dx[i] = dy[plane * G.out_pixels() + (row + G.top) * G.out_width() + column + G.left];
  }
};

template <class T>
struct AddRowBias {
  index columns;
  const T* bias;
  T* y;
  STRATA_HOST_DEVICE void operator()(index i) const { y[i] += bias[i % columns]; }
};

// Column c summed over the rows in order, as the CPU backend sums it.
template <class T>
struct SumRows {
  index rows, columns;
  const T* x;
  T* out;
  STRATA_HOST_DEVICE void operator()(index c) const {
    T sum = 0;
    for (index r = 0; r < rows; ++r) sum += x[r * columns + c];
    out[c] = sum;
  }
};

// ----- convolution -------------------------------------------------------------------------

// One filter per input channel: computed directly, not as one product per channel.
template <ConvGeometry G>
constexpr bool depthwise() {
  return G.groups == G.in_channels && G.out_channels == G.in_channels && G.groups > 1;
}

// The input row and column that kernel tap (ki, kj) of output (oh, ow) reads; outside the
// image when in padding.
template <ConvGeometry G>
STRATA_HOST_DEVICE inline signed_index input_row(index oh, index ki) {
  return signed_index(oh * G.stride_h + ki * G.dilation_h) - signed_index(G.pad_h);
}
template <ConvGeometry G>
STRATA_HOST_DEVICE inline signed_index input_col(index ow, index kj) {
  return signed_index(ow * G.stride_w + kj * G.dilation_w) - signed_index(G.pad_w);
}
template <ConvGeometry G>
STRATA_HOST_DEVICE inline bool inside(signed_index ih, signed_index iw) {
  return ih >= 0 && iw >= 0 && ih < signed_index(G.height) && iw < signed_index(G.width);
}

// The output coordinate that reads input coordinate `at` through kernel offset `offset`
// (tap index times dilation), or -1 when none does (between strides or past the edge).
STRATA_HOST_DEVICE inline signed_index reading_output(index at, index pad, index offset,
                                                      index stride, index out) {
  const signed_index shifted = signed_index(at + pad) - signed_index(offset);
  if (shifted < 0 || shifted % signed_index(stride) != 0) return -1;
  const signed_index o = shifted / signed_index(stride);
  return o < signed_index(out) ? o : -1;
}

// columns[patch, Ho*Wo] of one image's group g: row (c, ki, kj), column (oh, ow).
template <ConvGeometry G, class T>
struct Im2col {
  const T* image;  // [Cin, H, W]
  index group;
  T* columns;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index row = i / G.out_pixels(), pixel = i % G.out_pixels();
    const index c = row / (G.kernel_h * G.kernel_w), tap = row % (G.kernel_h * G.kernel_w);
    const signed_index ih = input_row<G>(pixel / G.out_width(), tap / G.kernel_w);
    const signed_index iw = input_col<G>(pixel % G.out_width(), tap % G.kernel_w);
    const T* plane = image + (group * G.in_per_group() + c) * G.in_pixels();
    columns[i] = inside<G>(ih, iw) ? plane[ih * signed_index(G.width) + iw] : T(0);
  }
};

// dx of group g's channels of one image: each input element gathers the column-matrix
// gradients of the taps that read it.
template <ConvGeometry G, class T>
struct Col2im {
  const T* column_grads;  // [patch, Ho*Wo]
  index group;
  T* image_grad;  // [Cin, H, W]
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index c = i / G.in_pixels(), h = (i % G.in_pixels()) / G.width, w = i % G.width;
    T sum = 0;
    for (index ki = 0; ki < G.kernel_h; ++ki) {
      const signed_index oh =
          reading_output(h, G.pad_h, ki * G.dilation_h, G.stride_h, G.out_height());
      if (oh < 0) continue;
      for (index kj = 0; kj < G.kernel_w; ++kj) {
        const signed_index ow =
            reading_output(w, G.pad_w, kj * G.dilation_w, G.stride_w, G.out_width());
        if (ow < 0) continue;
        const index row = (c * G.kernel_h + ki) * G.kernel_w + kj;
        sum += column_grads[row * G.out_pixels() + index(oh) * G.out_width() + index(ow)];
      }
    }
    image_grad[(group * G.in_per_group()) * G.in_pixels() + i] = sum;
  }
};

template <class T>
struct AddChannelBias {
  index channels, pixels;
  const T* bias;
  T* y;
  STRATA_HOST_DEVICE void operator()(index i) const { y[i] += bias[(i / pixels) % channels]; }
};

// sums[c] = sum over the batch and the plane of y[n, c, :].
template <class T>
struct ChannelSums {
  index batch, channels, pixels;
  const T* y;
  T* sums;
  STRATA_HOST_DEVICE void operator()(index c) const {
    T sum = 0;
    for (index n = 0; n < batch; ++n)
      for (index p = 0; p < pixels; ++p) sum += y[(n * channels + c) * pixels + p];
    sums[c] = sum;
  }
};

template <ConvGeometry G, class T>
struct DepthwiseForward {
  const T *weight, *bias, *x;
  T* y;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index plane = i / G.out_pixels(), c = plane % G.in_channels;
    const index oh = (i % G.out_pixels()) / G.out_width(), ow = i % G.out_width();
    const T* in = x + plane * G.in_pixels();
    const T* w = weight + c * G.kernel_h * G.kernel_w;
    T sum = bias ? bias[c] : T(0);
    for (index ki = 0; ki < G.kernel_h; ++ki)
      for (index kj = 0; kj < G.kernel_w; ++kj) {
        const signed_index ih = input_row<G>(oh, ki), iw = input_col<G>(ow, kj);
        if (inside<G>(ih, iw)) sum += w[ki * G.kernel_w + kj] * in[ih * signed_index(G.width) + iw];
      }
    y[i] = sum;
  }
};

// dW[c, tap] = sum over the batch and the outputs of dy * the input the tap read.
template <ConvGeometry G, class T>
struct DepthwiseWeightGrad {
  index batch;
  const T *x, *dy;
  T* grads;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index c = i / (G.kernel_h * G.kernel_w), tap = i % (G.kernel_h * G.kernel_w);
    const index ki = tap / G.kernel_w, kj = tap % G.kernel_w;
    T sum = 0;
    for (index n = 0; n < batch; ++n) {
      const index plane = n * G.in_channels + c;
      const T* in = x + plane * G.in_pixels();
      const T* grad_out = dy + plane * G.out_pixels();
      for (index oh = 0; oh < G.out_height(); ++oh)
        for (index ow = 0; ow < G.out_width(); ++ow) {
          const signed_index ih = input_row<G>(oh, ki), iw = input_col<G>(ow, kj);
          if (inside<G>(ih, iw))
            sum += grad_out[oh * G.out_width() + ow] * in[ih * signed_index(G.width) + iw];
        }
    }
    grads[i] = sum;
  }
};

template <ConvGeometry G, class T>
struct DepthwiseInputGrad {
  const T *weight, *dy;
  T* dx;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index plane = i / G.in_pixels(), c = plane % G.in_channels;
    const index h = (i % G.in_pixels()) / G.width, w = i % G.width;
    const T* grad_out = dy + plane * G.out_pixels();
    const T* filter = weight + c * G.kernel_h * G.kernel_w;
    T sum = 0;
    for (index ki = 0; ki < G.kernel_h; ++ki) {
      const signed_index oh =
          reading_output(h, G.pad_h, ki * G.dilation_h, G.stride_h, G.out_height());
      if (oh < 0) continue;
      for (index kj = 0; kj < G.kernel_w; ++kj) {
        const signed_index ow =
            reading_output(w, G.pad_w, kj * G.dilation_w, G.stride_w, G.out_width());
        if (ow >= 0)
          sum += filter[ki * G.kernel_w + kj] * grad_out[index(oh) * G.out_width() + index(ow)];
      }
    }
    dx[i] = sum;
  }
};

// ----- pooling -----------------------------------------------------------------------------

// The outputs along one axis whose window [o * stride - pad, + kernel) holds input `at`.
struct OutputRange {
  index begin, end;
};
STRATA_HOST_DEVICE inline OutputRange windows_holding(index at, index kernel, index stride,
                                                      index pad, index out) {
  const signed_index shifted = signed_index(at + pad);
  const signed_index first = shifted - signed_index(kernel) + 1;
  const index begin =
      first <= 0 ? 0 : index((first + signed_index(stride) - 1) / signed_index(stride));
  const index last = index(shifted / signed_index(stride)) + 1;
  return {begin, last < out ? last : out};
}

// The sum of term(o, oh, ow) over the pooling windows (oh, ow) of plane `plane` that hold
// input pixel `at`, in output order; o indexes the window's output over the whole batch. What
// both pools' backward gathers.
template <PoolGeometry G, class T, class Term>
STRATA_HOST_DEVICE T sum_over_windows_holding(index plane, index at, const Term& term) {
  const OutputRange rows =
      windows_holding(at / G.width, G.kernel_h, G.stride_h, G.pad_h, G.out_height());
  const OutputRange cols =
      windows_holding(at % G.width, G.kernel_w, G.stride_w, G.pad_w, G.out_width());
  T sum = 0;
  for (index oh = rows.begin; oh < rows.end; ++oh)
    for (index ow = cols.begin; ow < cols.end; ++ow)
      sum += term(plane * G.out_pixels() + oh * G.out_width() + ow, oh, ow);
  return sum;
}

template <PoolGeometry G, class T>
struct MaxPoolForward {
  const T* x;
  T *y, *saved;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index plane = i / G.out_pixels(), o = i % G.out_pixels();
    const T* in = x + plane * G.in_pixels();
    const index best = window_argmax(G, in, o / G.out_width(), o % G.out_width());
    y[i] = in[best];
    if (saved && max_pool_saves_indices<G>) saved[i] = static_cast<T>(best);
  }
};

// Each input gathers the gradients of the windows whose maximum it is, in output order (the
// order in which the CPU backend adds them).
template <PoolGeometry G, class T>
struct MaxPoolBackward {
  const T *x, *saved, *dy;
  T* dx;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index plane = i / G.in_pixels(), at = i % G.in_pixels();
    const T* in = x + plane * G.in_pixels();
    dx[i] = sum_over_windows_holding<G, T>(plane, at, [&](index o, index oh, index ow) {
      // Without saved indices (evaluation, or windows that tile the input) recomputed.
      const index best = saved && max_pool_saves_indices<G> ? static_cast<index>(saved[o])
                                                            : window_argmax(G, in, oh, ow);
      return best == at ? dy[o] : T(0);
    });
  }
};

// PyTorch's count_include_pad divisor: the window clipped to the padded input.
template <PoolGeometry G, class T>
struct AvgPoolForward {
  const T* x;
  T* y;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index plane = i / G.out_pixels(), o = i % G.out_pixels();
    const auto win = G.window(o / G.out_width(), o % G.out_width());
    const T* in = x + plane * G.in_pixels();
    T sum = 0;
    for (index h = win.h0; h < win.h1; ++h)
      for (index w = win.w0; w < win.w1; ++w) sum += in[h * G.width + w];
    y[i] = sum / static_cast<T>(win.padded_area);
  }
};

template <PoolGeometry G, class T>
struct AvgPoolBackward {
  const T* dy;
  T* dx;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index plane = i / G.in_pixels(), at = i % G.in_pixels();
    dx[i] = sum_over_windows_holding<G, T>(plane, at, [&](index o, index oh, index ow) {
      return dy[o] / static_cast<T>(G.window(oh, ow).padded_area);
    });
  }
};

template <AdaptivePoolGeometry G, class T>
struct AdaptivePoolForward {
  const T* x;
  T* y;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index plane = i / G.out_pixels(), oh = (i % G.out_pixels()) / G.out_w, ow = i % G.out_w;
    const index h0 = G.start(oh, G.height, G.out_h), h1 = G.end(oh, G.height, G.out_h);
    const index w0 = G.start(ow, G.width, G.out_w), w1 = G.end(ow, G.width, G.out_w);
    const T* in = x + plane * G.in_pixels();
    T sum = 0;
    for (index h = h0; h < h1; ++h)
      for (index w = w0; w < w1; ++w) sum += in[h * G.width + w];
    y[i] = sum / static_cast<T>((h1 - h0) * (w1 - w0));
  }
};

template <AdaptivePoolGeometry G, class T>
struct AdaptivePoolBackward {
  const T* dy;
  T* dx;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index plane = i / G.in_pixels(), h = (i % G.in_pixels()) / G.width, w = i % G.width;
    T sum = 0;
    for (index oh = 0; oh < G.out_h; ++oh) {
      const index h0 = G.start(oh, G.height, G.out_h), h1 = G.end(oh, G.height, G.out_h);
      if (h < h0 || h >= h1) continue;
      for (index ow = 0; ow < G.out_w; ++ow) {
        const index w0 = G.start(ow, G.width, G.out_w), w1 = G.end(ow, G.width, G.out_w);
        if (w >= w0 && w < w1)
          sum += dy[plane * G.out_pixels() + oh * G.out_w + ow] /
                 static_cast<T>((h1 - h0) * (w1 - w0));
      }
    }
    dx[i] = sum;
  }
};

// ----- batch normalisation -----------------------------------------------------------------

// A channel's mean and sum of squared deviations, from values shifted by the channel's first
// (so that sums in T add deviations, not the mean), planes combined in double with Chan's
// update: the CPU backend's algorithm, with sequential sums.
template <NormGeometry G, class T>
STRATA_HOST_DEVICE inline void channel_moments(index batch, index c, const T* x, double& mean,
                                               double& squares) {
  const T shift = x[c * G.plane];
  const double plane = static_cast<double>(G.plane);
  mean = 0;
  squares = 0;
  for (index n = 0; n < batch; ++n) {
    const T* values = x + n * G.sample() + c * G.plane;
    T sum = 0;
    for (index p = 0; p < G.plane; ++p) sum += values[p] - shift;
    const T plane_mean = sum / static_cast<T>(G.plane);
    T plane_squares = 0;
    for (index p = 0; p < G.plane; ++p) {
      const T d = values[p] - shift - plane_mean;
      plane_squares += d * d;
    }
    const double seen = plane * static_cast<double>(n);
    const double delta = static_cast<double>(plane_mean) - mean;
    mean += delta * plane / (seen + plane);
    squares += static_cast<double>(plane_squares) + delta * delta * seen * plane / (seen + plane);
  }
  mean += static_cast<double>(shift);
}

// Saves the mean (hi, lo) and 1/std, and updates the running statistics with the unbiased
// variance.
template <NormGeometry G, class T>
struct BatchNormStatistics {
  index batch;
  const T* x;
  T *running, *saved;
  double eps, momentum;
  STRATA_HOST_DEVICE void operator()(index c) const {
    double mean = 0, squares = 0;
    channel_moments<G>(batch, c, x, mean, squares);
    const double count = static_cast<double>(batch * G.plane);
    const SplitMean<T> centre = split_mean<T>(mean);
    saved[c] = centre.hi;
    saved[G.channels + c] = centre.lo;
    saved[2 * G.channels + c] = static_cast<T>(1.0 / std::sqrt(squares / count + eps));
    const double unbiased = squares / (count > 1 ? count - 1 : 1.0);
    running[c] = static_cast<T>((1 - momentum) * double(running[c]) + momentum * mean);
    running[G.channels + c] =
        static_cast<T>((1 - momentum) * double(running[G.channels + c]) + momentum * unbiased);
  }
};

template <NormGeometry G, class T>
struct BatchNormAffine {
  const T* x;
  T* y;
  const T *gamma, *beta, *saved;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index c = (i % G.sample()) / G.plane;
    const double scale = double(gamma[c]) * double(saved[2 * G.channels + c]);
    y[i] =
        (x[i] - saved[c] - saved[G.channels + c]) * static_cast<T>(scale) + static_cast<T>(beta[c]);
  }
};

template <NormGeometry G, class T>
struct BatchNormEval {
  const T* x;
  T* y;
  const T *gamma, *beta, *running;
  double eps;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index c = (i % G.sample()) / G.plane;
    const double scale = double(gamma[c]) / std::sqrt(double(running[G.channels + c]) + eps);
    const SplitMean<T> centre = split_mean<T>(double(running[c]));
    y[i] = (x[i] - centre.hi - centre.lo) * static_cast<T>(scale) + static_cast<T>(beta[c]);
  }
};

// The (mean, 1/std) that normalised channel c: the batch's in training, the running
// estimates' in evaluation.
template <NormGeometry G, class T>
STRATA_HOST_DEVICE inline void normalising_statistics(bool training, index c, const T* saved,
                                                      const T* running, double eps, double& mean,
                                                      double& inv_std) {
  if (training) {
    mean = double(saved[c]) + double(saved[G.channels + c]);
    inv_std = double(saved[2 * G.channels + c]);
  } else {
    mean = double(running[c]);
    inv_std = 1.0 / std::sqrt(double(running[G.channels + c]) + eps);
  }
}

// grads = [dgamma | dbeta]: dgamma[c] = sum(dy * x_hat), dbeta[c] = sum(dy); plane sums in T,
// combined over the batch in double.
template <NormGeometry G, class T>
struct BatchNormGradSums {
  index batch;
  bool training;
  const T *x, *dy, *saved, *running;
  double eps;
  T* grads;
  STRATA_HOST_DEVICE void operator()(index c) const {
    double mean = 0, inv_std = 0;
    normalising_statistics<G>(training, c, saved, running, eps, mean, inv_std);
    const SplitMean<T> centre = split_mean<T>(mean);
    double sum_dy = 0, sum_dy_xhat = 0;
    for (index n = 0; n < batch; ++n) {
      const index at = n * G.sample() + c * G.plane;
      T plane_dy = 0, plane_dy_xhat = 0;
      for (index p = 0; p < G.plane; ++p) {
        plane_dy += dy[at + p];
        plane_dy_xhat += dy[at + p] * (x[at + p] - centre.hi - centre.lo);
      }
      sum_dy += double(plane_dy);
      sum_dy_xhat += double(plane_dy_xhat);
    }
    grads[c] = static_cast<T>(sum_dy_xhat * inv_std);
    grads[G.channels + c] = static_cast<T>(sum_dy);
  }
};

// dx = g/std * dy in evaluation; in training also the two terms through the batch statistics,
// dx = g/std * (dy - sum(dy)/M - x_hat * sum(dy * x_hat)/M).
template <NormGeometry G, class T>
struct BatchNormInputGrad {
  index batch;
  bool training;
  const T *x, *dy, *gamma, *grads, *saved, *running;
  double eps;
  T* dx;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index c = (i % G.sample()) / G.plane;
    double mean = 0, inv_std = 0;
    normalising_statistics<G>(training, c, saved, running, eps, mean, inv_std);
    const double scale = double(gamma[c]) * inv_std;
    if (!training) {
      dx[i] = dy[i] * static_cast<T>(scale);
      return;
    }
    const double count = static_cast<double>(batch * G.plane);
    const SplitMean<T> centre = split_mean<T>(mean);
    const double slope = scale * inv_std * double(grads[c]) / count;
    const double offset = -scale * double(grads[G.channels + c]) / count;
    dx[i] = dy[i] * static_cast<T>(scale) - (x[i] - centre.hi - centre.lo) * static_cast<T>(slope) +
            static_cast<T>(offset);
  }
};

// ----- local response normalisation --------------------------------------------------------

// d_c = k + alpha/size * sum of x_j^2 over j in [c - size/2, c + (size-1)/2]; y = x * d^-beta.
template <NormGeometry G, class T>
struct LrnForward {
  LrnConstants constants;
  const T* x;
  T *y, *saved;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index n = i / G.sample(), c = (i % G.sample()) / G.plane, p = i % G.plane;
    const index first = c >= constants.size / 2 ? c - constants.size / 2 : 0;
    const index last_window = c + (constants.size - 1) / 2;
    const index last = last_window < G.channels - 1 ? last_window : G.channels - 1;
    T sum = 0;
    for (index j = first; j <= last; ++j) {
      const T v = x[n * G.sample() + j * G.plane + p];
      sum += v * v;
    }
    const T d = sum * static_cast<T>(constants.alpha / double(constants.size)) +
                static_cast<T>(constants.k);
    saved[i] = d;
    y[i] = x[i] * std::pow(d, static_cast<T>(-constants.beta));
  }
};

// x_j reaches y_c for c in [j - (size-1)/2, j + size/2]:
//   dx_j = dy_j * d_j^-beta - 2 alpha beta / size * x_j * sum_c dy_c * y_c / d_c.
template <NormGeometry G, class T>
struct LrnBackward {
  LrnConstants constants;
  const T *x, *y, *dy, *saved;
  T* dx;
  STRATA_HOST_DEVICE void operator()(index i) const {
    const index n = i / G.sample(), j = (i % G.sample()) / G.plane, p = i % G.plane;
    const index first = j >= (constants.size - 1) / 2 ? j - (constants.size - 1) / 2 : 0;
    const index last_window = j + constants.size / 2;
    const index last = last_window < G.channels - 1 ? last_window : G.channels - 1;
    T sum = 0;
    for (index c = first; c <= last; ++c) {
      const index at = n * G.sample() + c * G.plane + p;
      sum += dy[at] * y[at] / saved[at];
    }
    const auto coefficient =
        static_cast<T>(2.0 * constants.alpha * constants.beta / double(constants.size));
    dx[i] = dy[i] * std::pow(saved[i], static_cast<T>(-constants.beta)) - coefficient * x[i] * sum;
  }
};

// ----- loss and optimizer steps ------------------------------------------------------------

template <class T>
struct CrossEntropyRow {
  index classes, batch;
  const T* logits;
  const std::int32_t* labels;
  double label_smoothing, weight;
  T* grad;
  double* losses;
  STRATA_HOST_DEVICE void operator()(index n) const {
    losses[n] = cross_entropy_row(logits + n * classes, classes, static_cast<index>(labels[n]),
                                  label_smoothing, weight, batch, grad + n * classes);
  }
};

template <class T>
struct SquaredErrorElement {
  const T* predictions;
  const T* targets;
  double scale;
  T* grad;
  double* errors;
  STRATA_HOST_DEVICE void operator()(index i) const {
    errors[i] = squared_error(predictions[i], targets[i], scale, grad[i]);
  }
};

// out[0] = the sum of values[0, count), in order: one thread.
struct SumInOrder {
  index count;
  const double* values;
  double* out;
  STRATA_HOST_DEVICE void operator()(index) const {
    double sum = 0;
    for (index i = 0; i < count; ++i) sum += values[i];
    *out = sum;
  }
};

struct SgdElement {
  float* value;
  const float* grad;
  float* momentum_buffer;
  SgdStep step;
  STRATA_HOST_DEVICE void operator()(index i) const {
    sgd_update(value[i], grad[i], momentum_buffer[i], step);
  }
};

struct AdamElement {
  float* value;
  const float* grad;
  float *m, *v;
  AdamStep step;
  STRATA_HOST_DEVICE void operator()(index i) const {
    adam_update(value[i], grad[i], m[i], v[i], step);
  }
};

// ----- random masks ------------------------------------------------------------------------

template <class T>
struct MaskElement {
  MaskRule rule;
  T keep_scale;
  T* mask;
  STRATA_HOST_DEVICE void operator()(index i) const { mask[i] = rule.element(i, keep_scale); }
};

}  // namespace strata::backend::cuda
