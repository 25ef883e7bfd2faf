// Scalar rules that every backend shares, written once as host-and-device code: the activation
// functions and their derivatives, PyTorch's SGD and Adam updates, the cross-entropy row, the
// Philox generator of the dropout masks. A backend calls them per element (the CUDA backend's
// functors, the CPU's loss, optimizers and masks) or states the same formula over whole arrays
// where that is what vectorises (the CPU backend's Eigen activations, which the conformance
// harness holds to these).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

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

// PyTorch's formulas (aten's CPU kernels): relu6(x + 3) / 6, and x times it, divided last.
template <>
struct activation_rule<act::hardsigmoid> {
  template <class T>
  STRATA_HOST_DEVICE static T forward(T x) {
    return activation_rule<act::relu6>::forward(x + T(3)) / T(6);
  }
  // hardsigmoid_backward: dy times one sixth strictly inside (-3, 3). PyTorch's one sixth is
  // the float 1.0f / 6.0f in every precision, so a double gradient is off by 3e-8 relative;
  // kept, so that double results equal PyTorch's (float ones are the same either way).
  template <class T>
  STRATA_HOST_DEVICE static T backward(T x, T, T dy) {
    return x > T(-3) && x < T(3) ? dy * T(1.0f / 6.0f) : T(0);
  }
};

template <>
struct activation_rule<act::hardswish> {
  template <class T>
  STRATA_HOST_DEVICE static T forward(T x) {
    return x * activation_rule<act::relu6>::forward(x + T(3)) / T(6);
  }
  // hardswish_backward: 0 below -3, x / 3 + 1/2 up to 3 inclusive, 1 above.
  template <class T>
  STRATA_HOST_DEVICE static T backward(T x, T, T dy) {
    if (x < T(-3)) return T(0);
    return x <= T(3) ? dy * (x / T(3) + T(0.5)) : dy;
  }
};

// An optimizer's settings for one parameter tensor and one step, as kernels<B>::sgd_step and
// adam_step receive them.
struct SgdStep {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
  // The parameter's first step: PyTorch starts the momentum buffer at the first gradient,
  // without dampening.
  bool first;
};

struct AdamStep {
  float lr, beta1, beta2, eps, weight_decay;
  // Weight decay as a shrink of the weights (AdamW) rather than an L2 term (Adam).
  bool decoupled;
  // lr / (1 - beta1^t) and sqrt(1 - beta2^t) for this parameter's step t, computed once per
  // tensor in double (adam_step_for).
  float step_size, sqrt_correction2;
};

// torch.optim's single-tensor SGD on one element: weight decay as an L2 term, momentum started
// at the first gradient without dampening, Nesterov's look-ahead.
STRATA_HOST_DEVICE inline void sgd_update(float& value, float grad, float& momentum_buffer,
                                          const SgdStep& o) {
  float g = grad + o.weight_decay * value;
  if (o.momentum != 0) {
    momentum_buffer = o.first ? g : o.momentum * momentum_buffer + (1 - o.dampening) * g;
    g = o.nesterov ? g + o.momentum * momentum_buffer : momentum_buffer;
  }
  value -= o.lr * g;
}

// The per-tensor scalars of Adam's step t (counted from 1).
inline AdamStep adam_step_for(float lr, float beta1, float beta2, float eps, float weight_decay,
                              bool decoupled, double t) {
  const double correction1 = 1.0 - std::pow(double(beta1), t);
  const double correction2 = 1.0 - std::pow(double(beta2), t);
  return {lr,
          beta1,
          beta2,
          eps,
          weight_decay,
          decoupled,
          static_cast<float>(lr / correction1),
          static_cast<float>(std::sqrt(correction2))};
}

// torch.optim's Adam (decoupled: AdamW) on one element.
STRATA_HOST_DEVICE inline void adam_update(float& value, float grad, float& m, float& v,
                                           const AdamStep& o) {
  float g = grad;
  if (o.decoupled)
    value *= 1 - o.lr * o.weight_decay;
  else
    g += o.weight_decay * value;
  m = o.beta1 * m + (1 - o.beta1) * g;
  v = o.beta2 * v + (1 - o.beta2) * g * g;
  value -= o.step_size * m / (std::sqrt(v) / o.sqrt_correction2 + o.eps);
}

// One row of nn.CrossEntropyLoss(reduction="mean", label_smoothing) times weight: writes the
// row's gradient with respect to its logits (already divided by the batch) and returns the
// row's loss (not yet averaged). In double, so that log-sum-exp loses nothing to float; label is
// in [0, classes), checked by the caller.
template <class T>
STRATA_HOST_DEVICE double cross_entropy_row(const T* row, std::size_t classes, std::size_t label,
                                            double label_smoothing, double weight,
                                            std::size_t batch, T* grad_row) {
  const double on_target = 1.0 - label_smoothing, uniform = label_smoothing / double(classes);
  double top = double(row[0]);
  for (std::size_t k = 1; k < classes; ++k) top = double(row[k]) > top ? double(row[k]) : top;
  double sum = 0;
  for (std::size_t k = 0; k < classes; ++k) sum += std::exp(double(row[k]) - top);
  const double log_sum = top + std::log(sum);
  double smoothed = 0;  // -mean_k log p_k
  for (std::size_t k = 0; k < classes; ++k) {
    const double log_p = double(row[k]) - log_sum;
    smoothed -= log_p;
    const double target = uniform + (k == label ? on_target : 0.0);
    grad_row[k] = static_cast<T>(weight * (std::exp(log_p) - target) / double(batch));
  }
  return on_target * (log_sum - double(row[label])) + label_smoothing * smoothed / double(classes);
}

// One element of nn.MSELoss times scale (1 / count for reduction "mean", 1 for "sum"): writes
// its gradient with respect to the prediction and returns the squared error, not yet scaled, in
// double, so that the sum over a batch loses nothing to float.
template <class T>
STRATA_HOST_DEVICE double squared_error(T prediction, T target, double scale, T& grad) {
  const double difference = double(prediction) - double(target);
  grad = static_cast<T>(2.0 * scale * difference);
  return difference * difference;
}

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
// counter-based generator of cuRAND and of PyTorch's CUDA generator: ten rounds turn a 128-bit
// counter and a 64-bit key into 128 random bits, so element i of a mask is computed from (key, i)
// alone, by any thread, in any order, on any backend.
struct Philox4x32 {
  std::uint32_t x[4];
};
STRATA_HOST_DEVICE inline Philox4x32 philox4x32_10(Philox4x32 counter, std::uint64_t key) {
  auto k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * counter.x[0];
    const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * counter.x[2];
    counter = {
        {static_cast<std::uint32_t>(p1 >> 32) ^ counter.x[1] ^ k0, static_cast<std::uint32_t>(p1),
         static_cast<std::uint32_t>(p0 >> 32) ^ counter.x[3] ^ k1, static_cast<std::uint32_t>(p0)}};
    k0 += 0x9E3779B9u;  // the golden ratio and sqrt(3) - 1, as 32-bit fractions
    k1 += 0xBB67AE85u;
  }
  return counter;
}

// A keep-mask: element i is keep_scale with probability 1 - drop, else 0, from 64 bits of
// Philox at counter i under the mask's key.
struct MaskRule {
  std::uint64_t key;
  std::uint64_t threshold;  // drop * 2^64: an element is dropped below it

  MaskRule(std::uint64_t mask_key, double drop)
      : key(mask_key), threshold(static_cast<std::uint64_t>(drop * 18446744073709551616.0)) {}
  template <class T>
  STRATA_HOST_DEVICE T element(std::uint64_t i, T keep_scale) const {
    const Philox4x32 bits = philox4x32_10(
        {{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32), 0u, 0u}}, key);
    const std::uint64_t draw = (std::uint64_t{bits.x[1]} << 32) | bits.x[0];
    return draw >= threshold ? keep_scale : T(0);
  }
};

// The key of the next mask: one draw of the model's generator per mask, so that the model's seed
// and the number of masks drawn before fix every mask, on every backend.
template <class Generator>
std::uint64_t next_mask_key(Generator& rng) {
  static_assert(sizeof(typename Generator::result_type) == 8, "masks need a 64-bit generator");
  return rng();
}

}  // namespace strata::backend
