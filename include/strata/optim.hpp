// Optimizers with PyTorch's update rules (torch.optim, single-tensor path). Each keeps its
// state in buffers allocated at construction, so step() allocates nothing. An optimizer refers
// to the model's parameter list (it must not outlive the model) and reads each parameter's
// `trainable` flag at every step, so freezing takes effect whenever it is done.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "strata/backend/cpu/parallel.hpp"
#include "strata/model.hpp"

namespace strata {

namespace detail {

// One state tensor per parameter, stored contiguously.
class OptimizerState {
 public:
  OptimizerState(std::span<Parameter> params, std::size_t tensors_per_param) : params_(params) {
    std::size_t total = 0;
    for (const Parameter& p : params_) total += p.size;
    for (std::size_t k = 0; k < tensors_per_param; ++k) state_.emplace_back(total, 0.0f);
  }
  std::span<const Parameter> params() const { return params_; }
  // State tensor k of the parameter whose values start at `offset` within the concatenation.
  float* slot(std::size_t k, std::size_t offset) { return state_[k].data() + offset; }
  std::span<float> tensor(std::size_t k) { return state_[k]; }
  std::size_t tensor_count() const { return state_.size(); }

 private:
  std::span<const Parameter> params_;
  std::vector<std::vector<float>> state_;
};

}  // namespace detail

struct SgdOptions {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

class SGD {
 public:
  SGD(std::span<Parameter> params, SgdOptions options) : options_(options), state_(params, 1) {
    if (options.nesterov && (options.momentum <= 0 || options.dampening != 0))
      throw std::invalid_argument("SGD: Nesterov momentum requires momentum > 0 and dampening 0");
  }

  void step() {
    const backend::cpu::DenormalsFlushed flushed;
    std::size_t offset = 0;
    for (const Parameter& p : state_.params()) {
      if (p.trainable) update(p, state_.slot(0, offset));
      offset += p.size;
    }
    ++steps_;
  }

  SgdOptions& options() { return options_; }
  std::size_t steps() const { return steps_; }
  detail::OptimizerState& state() { return state_; }
  void set_steps(std::size_t steps) { steps_ = steps; }

 private:
  void update(const Parameter& p, float* momentum_buffer) const {
    const SgdOptions& o = options_;
    for (std::size_t i = 0; i < p.size; ++i) {
      float g = p.grad[i] + o.weight_decay * p.value[i];
      if (o.momentum != 0) {
        // PyTorch starts the buffer at the first gradient, without dampening.
        momentum_buffer[i] =
            steps_ == 0 ? g : o.momentum * momentum_buffer[i] + (1 - o.dampening) * g;
        g = o.nesterov ? g + o.momentum * momentum_buffer[i] : momentum_buffer[i];
      }
      p.value[i] -= o.lr * g;
    }
  }

  SgdOptions options_;
  detail::OptimizerState state_;
  std::size_t steps_ = 0;
};

struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
};

namespace detail {

// Adam and AdamW differ only in how weight decay enters: as an L2 term added to the gradient
// (Adam) or as a decoupled shrink of the weights (AdamW).
template <bool Decoupled>
class AdamFamily {
 public:
  AdamFamily(std::span<Parameter> params, AdamOptions options)
      : options_(options), state_(params, 2) {}

  void step() {
    const backend::cpu::DenormalsFlushed flushed;
    ++steps_;
    const AdamOptions& o = options_;
    const double correction1 = 1.0 - std::pow(double(o.beta1), double(steps_));
    const double correction2 = 1.0 - std::pow(double(o.beta2), double(steps_));
    const auto step_size = static_cast<float>(o.lr / correction1);
    const auto sqrt_correction2 = static_cast<float>(std::sqrt(correction2));
    std::size_t offset = 0;
    for (const Parameter& p : state_.params()) {
      float* m = state_.slot(0, offset);
      float* v = state_.slot(1, offset);
      offset += p.size;
      if (!p.trainable) continue;
      for (std::size_t i = 0; i < p.size; ++i) {
        float g = p.grad[i];
        if constexpr (Decoupled)
          p.value[i] *= 1 - o.lr * o.weight_decay;
        else
          g += o.weight_decay * p.value[i];
        m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
        v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
        p.value[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_correction2 + o.eps);
      }
    }
  }

  AdamOptions& options() { return options_; }
  std::size_t steps() const { return steps_; }
  OptimizerState& state() { return state_; }
  void set_steps(std::size_t steps) { steps_ = steps; }

 private:
  AdamOptions options_;
  OptimizerState state_;
  std::size_t steps_ = 0;
};

}  // namespace detail

using Adam = detail::AdamFamily<false>;

// AdamW's default weight decay is PyTorch's (0.01); pass options to change it.
class AdamW : public detail::AdamFamily<true> {
 public:
  AdamW(std::span<Parameter> params, AdamOptions options = {.weight_decay = 1e-2f})
      : AdamFamily(params, options) {}
};

}  // namespace strata
