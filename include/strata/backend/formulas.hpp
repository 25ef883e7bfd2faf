// Scalar rules that every backend shares, written once as host-and-device code: the activation
// functions and their derivatives, PyTorch's optimizer updates. A backend calls them per element
// (the CUDA backend's functors) or states the same formula over whole arrays where that is what
// vectorises (the CPU backend's Eigen expressions, which the conformance harness holds to these).
#pragma once

#include <cmath>
#include <cstddef>

#if defined(__CUDACC__)
#define STRATA_HOST_DEVICE __host__ __device__
#else
#define STRATA_HOST_DEVICE
#endif

#include "strata/backend/kernels.hpp"

namespace strata::backend {

// y = f(x) and dx = f'(x) * dy, given x and y, for each act:: tag. NaN propagates through the
// forward as in PyTorch (relu(nan) = nan); the gradient passes only where the test holds.
template <class Function>
struct activation_rule;

template <>
struct activation_rule<act::relu> {
  template <class T>
  STRATA_HOST_DEVICE static T forward(T x) {
    return x < T(0) ? T(0) : x;
  }
  // PyTorch's threshold_backward: the gradient passes where the output is positive.
  template <class T>
  STRATA_HOST_DEVICE static T backward(T, T y, T dy) {
    return y > T(0) ? dy : T(0);
  }
};

template <>
struct activation_rule<act::relu6> {
  template <class T>
  STRATA_HOST_DEVICE static T forward(T x) {
    return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
  }
  // hardtanh_backward: strictly inside (0, 6).
  template <class T>
  STRATA_HOST_DEVICE static T backward(T, T y, T dy) {
    return y > T(0) && y < T(6) ? dy : T(0);
  }
};

template <>
struct activation_rule<act::sigmoid> {
  // 1 / (1 + exp(-x)) overflows exp only towards +inf, where the quotient tends to 0.
  template <class T>
  STRATA_HOST_DEVICE static T forward(T x) {
    return T(1) / (T(1) + std::exp(-x));
  }
  template <class T>
  STRATA_HOST_DEVICE static T backward(T, T y, T dy) {
    return dy * y * (T(1) - y);
  }
};

template <>
struct activation_rule<act::tanh> {
  template <class T>
  STRATA_HOST_DEVICE static T forward(T x) {
    return std::tanh(x);
  }
  template <class T>
  STRATA_HOST_DEVICE static T backward(T, T y, T dy) {
    return dy * (T(1) - y * y);
  }
};

template <>
struct activation_rule<act::silu> {
  template <class T>
  STRATA_HOST_DEVICE static T forward(T x) {
    return x / (T(1) + std::exp(-x));
  }
  // d/dx x*s(x) = s(x) * (1 + x * (1 - s(x))), with s recomputed from x.
  template <class T>
  STRATA_HOST_DEVICE static T backward(T x, T, T dy) {
    const T s = T(1) / (T(1) + std::exp(-x));
    return dy * s * (T(1) + x * (T(1) - s));
  }
};

// mask[i] = keep_scale with probability 1 - drop, else 0: dropout's and stochastic depth's
// masks, drawn in order from one generator so that a seed fixes every mask on every backend.
template <class Generator, class T>
void draw_mask(Generator& rng, std::size_t count, double drop, T keep_scale, T* mask) {
  static_assert(sizeof(typename Generator::result_type) == 8,
                "draw_mask: needs a 64-bit generator");
  const auto threshold =
      static_cast<typename Generator::result_type>(drop * 18446744073709551616.0);  // drop * 2^64
  for (std::size_t i = 0; i < count; ++i) mask[i] = rng() >= threshold ? keep_scale : T(0);
}

}  // namespace strata::backend
