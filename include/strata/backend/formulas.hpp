// Scalar rules that every backend shares, written once as host-and-device code: the activation
// functions and their derivatives, PyTorch's SGD and Adam updates, the dropout masks. A backend
// calls them per element (the CUDA backend's functors) or states the same formula over whole arrays
// where that is what vectorises (the CPU backend's Eigen expressions, which the conformance harness
// holds to these).
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

// torch.optim's single-tensor SGD on one element: weight decay as an L2 term, momentum started
// at the first gradient without dampening, Nesterov's look-ahead.
STRATA_HOST_DEVICE inline void sgd_update(float& value, float grad, float& momentum_buffer,
                                          float lr, float momentum, float dampening,
                                          float weight_decay, bool nesterov, bool first) {
  float g = grad + weight_decay * value;
  if (momentum != 0) {
    momentum_buffer = first ? g : momentum * momentum_buffer + (1 - dampening) * g;
    g = nesterov ? g + momentum * momentum_buffer : momentum_buffer;
  }
  value -= lr * g;
}

// torch.optim's Adam (decoupled: AdamW) on one element; step_size = lr / (1 - beta1^t) and
// sqrt_correction2 = sqrt(1 - beta2^t) are the tensor's, computed once per step in double.
STRATA_HOST_DEVICE inline void adam_update(float& value, float grad, float& m, float& v, float lr,
                                           float beta1, float beta2, float eps, float weight_decay,
                                           bool decoupled, float step_size,
                                           float sqrt_correction2) {
  float g = grad;
  if (decoupled)
    value *= 1 - lr * weight_decay;
  else
    g += weight_decay * value;
  m = beta1 * m + (1 - beta1) * g;
  v = beta2 * v + (1 - beta2) * g * g;
  value -= step_size * m / (std::sqrt(v) / sqrt_correction2 + eps);
}

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
