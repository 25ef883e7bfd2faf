// Normalisation kernels for the CPU backend: batch normalisation and local response
// normalisation. Activations are [batch, channels, plane]; a flat input has a plane of 1.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include "strata/backend/cpu/elementwise.hpp"
#include "strata/backend/cpu/parallel.hpp"
#include "strata/backend/geometry.hpp"

namespace strata::backend::cpu {

using backend::LrnConstants;

using backend::NormGeometry;
using backend::split_mean;
using backend::SplitMean;

// Batch normalisation. Each channel's statistics cover batch * plane elements that no other
// channel touches, so channels are spread over threads and every result is independent of the
// thread count.

// The part of x, y, dy or dx that holds channel c of sample n.
template <NormGeometry G, class T>
auto channel_of(T* data, std::size_t n, std::size_t c) {
  using Map =
      std::conditional_t<std::is_const_v<T>, ConstArrayMap<std::remove_const_t<T>>, ArrayMap<T>>;
  return Map(data + n * G.sample() + c * G.plane, static_cast<Eigen::Index>(G.plane));
}

// y = (x - mean) * scale + beta: the whole forward once the statistics are known. Centred
// first rather than x * scale + (beta - mean * scale), whose two large terms cancel in T when
// |mean| >> std.
template <NormGeometry G, class T>
void batchnorm_affine(std::size_t batch, std::size_t c, const T* x, T* y, SplitMean<T> mean,
                      double scale, double beta) {
  for (std::size_t n = 0; n < batch; ++n)
    channel_of<G>(y, n, c) =  // [plane]
        (channel_of<G>(x, n, c) - mean.hi - mean.lo) * static_cast<T>(scale) + static_cast<T>(beta);
}

// Mean and sum of squared deviations of one channel over the batch. The values are shifted by
// one of the channel's own, so that the planes' sums in T (vectorised, and still in cache for
// the second pass around the plane's mean, which avoids the cancellation of sum(x^2) -
// n*mean^2) add deviations of the order of the spread, not of the mean: 300 +- 0.05 summed as
// is would lose the spread to the float rounding of the sums. The planes are combined in
// double with Chan's pairwise update, so a channel of a large batch loses no precision to one
// long float sum either.
struct ChannelMoments {
  double mean = 0, squares = 0;
};

template <NormGeometry G, class T>
ChannelMoments channel_moments(std::size_t batch, std::size_t c, const T* x) {
  ChannelMoments total;
  const T shift = x[c * G.plane];
  const double plane = static_cast<double>(G.plane);
  for (std::size_t n = 0; n < batch; ++n) {
    const auto deviations = channel_of<G>(x, n, c) - shift;  // [plane]
    const T plane_mean = deviations.sum() / static_cast<T>(G.plane);
    const double plane_squares = static_cast<double>((deviations - plane_mean).square().sum());
    const double seen = plane * static_cast<double>(n);
    const double delta = static_cast<double>(plane_mean) - total.mean;
    total.mean += delta * plane / (seen + plane);
    total.squares += plane_squares + delta * delta * seen * plane / (seen + plane);
  }
  total.mean += static_cast<double>(shift);
  return total;
}

// Training: normalises with the batch mean and biased variance, keeps each channel's mean (hi,
// lo) and 1/std in saved[0, 3C) for backward, and moves the running estimates towards the
// batch's with the unbiased variance, as PyTorch's batch_norm. The layer refuses a batch of one
// value per channel, which has no unbiased variance.
template <NormGeometry G, class T>
void batchnorm_forward_train(std::size_t threads, std::size_t batch, const T* x, T* y,
                             const T* gamma, const T* beta, T* running_mean, T* running_var,
                             T* saved, double eps, double momentum) {
  const double count = static_cast<double>(batch * G.plane);
  parallel_for(threads, G.channels, [&](std::size_t c, std::size_t) {
    const auto [mean, squares] = channel_moments<G>(batch, c, x);
    const double inv_std = 1.0 / std::sqrt(squares / count + eps);
    const SplitMean<T> centre = split_mean<T>(mean);
    saved[c] = centre.hi;
    saved[G.channels + c] = centre.lo;
    saved[2 * G.channels + c] = static_cast<T>(inv_std);
    const double unbiased = squares / std::max(count - 1, 1.0);
    running_mean[c] = static_cast<T>((1 - momentum) * double(running_mean[c]) + momentum * mean);
    running_var[c] = static_cast<T>((1 - momentum) * double(running_var[c]) + momentum * unbiased);
    batchnorm_affine<G>(batch, c, x, y, centre, double(gamma[c]) * inv_std, double(beta[c]));
  });
}

// Evaluation: a fixed per-channel affine map from the running statistics.
template <NormGeometry G, class T>
void batchnorm_forward_eval(std::size_t threads, std::size_t batch, const T* x, T* y,
                            const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, double eps) {
  parallel_for(threads, G.channels, [&](std::size_t c, std::size_t) {
    const double scale = double(gamma[c]) / std::sqrt(double(running_var[c]) + eps);
    batchnorm_affine<G>(batch, c, x, y, split_mean<T>(double(running_mean[c])), scale,
                        double(beta[c]));
  });
}

// Gradients given each channel's (mean, 1/std). In training the statistics depend on x, which
// adds the two mean terms of dx = g/std/M * (M*dy - sum(dy) - x_hat * sum(dy * x_hat)); in
// evaluation they are constants and dx = g/std * dy, as PyTorch's eval-mode backward.
template <NormGeometry G, class T, class Stats>
void batchnorm_backward(std::size_t threads, std::size_t batch, bool batch_statistics, const T* x,
                        const T* dy, T* dx, const T* gamma, T* dgamma, T* dbeta, Stats&& stats) {
  const double count = static_cast<double>(batch * G.plane);
  parallel_for(threads, G.channels, [&](std::size_t c, std::size_t) {
    const auto [mean, inv_std] = stats(c);
    const SplitMean<T> centre = split_mean<T>(mean);
    // Per-plane sums in T (vectorised), accumulated over the batch in double.
    double sum_dy = 0, sum_dy_xhat = 0;
    for (std::size_t n = 0; n < batch; ++n) {
      const auto grad = channel_of<G>(dy, n, c);  // [plane]
      sum_dy += static_cast<double>(grad.sum());
      sum_dy_xhat +=
          static_cast<double>((grad * (channel_of<G>(x, n, c) - centre.hi - centre.lo)).sum());
    }
    sum_dy_xhat *= inv_std;
    dgamma[c] = static_cast<T>(sum_dy_xhat);
    dbeta[c] = static_cast<T>(sum_dy);
    if (!dx) return;
    const double scale = double(gamma[c]) * inv_std;
    if (!batch_statistics) {
      for (std::size_t n = 0; n < batch; ++n)
        channel_of<G>(dx, n, c) = channel_of<G>(dy, n, c) * static_cast<T>(scale);  // [plane]
      return;
    }
    // dx = scale * (dy - sum_dy/M - (x - mean) * inv_std^2 * sum_dy_xhat/M), centred as in
    // forward.
    const double slope = scale * inv_std * sum_dy_xhat / count;
    const double offset = -scale * sum_dy / count;
    for (std::size_t n = 0; n < batch; ++n)
      channel_of<G>(dx, n, c) =  // [plane]
          channel_of<G>(dy, n, c) * static_cast<T>(scale) -
          (channel_of<G>(x, n, c) - centre.hi - centre.lo) * static_cast<T>(slope) +
          static_cast<T>(offset);
  });
}

// Local response normalisation, as nn.LocalResponseNorm: with the window W(c) = [c - size/2,
// c + (size-1)/2] clipped to the channels,
//   d_c = k + alpha/size * sum_{c' in W(c)} x_c'^2,   y_c = x_c * d_c^-beta.
// Each output plane is independent, so planes (sample, channel) are spread over threads. The
// constants are a run-time argument: clang 14 has no floating-point template arguments.

// Saves d per element for backward.
template <NormGeometry G, class T>
void lrn_forward(std::size_t threads, std::size_t batch, const LrnConstants& L, const T* x, T* y,
                 T* saved_d) {
  const auto coefficient = static_cast<T>(L.alpha / double(L.size));
  parallel_for(threads, batch * G.channels, [&](std::size_t p, std::size_t) {
    const std::size_t n = p / G.channels, c = p % G.channels;
    const std::size_t first = c >= L.size / 2 ? c - L.size / 2 : 0;
    const std::size_t last = std::min(G.channels - 1, c + (L.size - 1) / 2);
    auto d = channel_of<G>(saved_d, n, c);  // [plane]
    d.setZero();
    for (std::size_t j = first; j <= last; ++j) d += channel_of<G>(x, n, j).square();
    d = d * coefficient + static_cast<T>(L.k);
    channel_of<G>(y, n, c) = channel_of<G>(x, n, c) * d.pow(static_cast<T>(-L.beta));  // [plane]
  });
}

// x_j reaches y_c for every c with j in W(c), i.e. c in [j - (size-1)/2, j + size/2]:
//   dx_j = dy_j * d_j^-beta - 2 alpha beta / size * x_j * sum_c dy_c * y_c / d_c
// (x_c * d_c^(-beta-1) = y_c / d_c).
template <NormGeometry G, class T>
void lrn_backward(std::size_t threads, std::size_t batch, const LrnConstants& L, const T* x,
                  const T* y, const T* dy, const T* saved_d, T* dx) {
  const auto coefficient = static_cast<T>(2.0 * L.alpha * L.beta / double(L.size));
  parallel_for(threads, batch * G.channels, [&](std::size_t p, std::size_t) {
    const std::size_t n = p / G.channels, j = p % G.channels;
    const std::size_t first = j >= (L.size - 1) / 2 ? j - (L.size - 1) / 2 : 0;
    const std::size_t last = std::min(G.channels - 1, j + L.size / 2);
    auto out = channel_of<G>(dx, n, j);  // [plane]
    out.setZero();
    for (std::size_t c = first; c <= last; ++c)
      out += channel_of<G>(dy, n, c) * channel_of<G>(y, n, c) / channel_of<G>(saved_d, n, c);
    out = channel_of<G>(dy, n, j) * channel_of<G>(saved_d, n, j).pow(static_cast<T>(-L.beta)) -
          coefficient * channel_of<G>(x, n, j) * out;
  });
}

}  // namespace strata::backend::cpu
