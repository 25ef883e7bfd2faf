// Optimizers with PyTorch's update rules (torch.optim, single-tensor path). Each keeps its
// state in buffers allocated at construction, so step() allocates nothing. An optimizer refers
// to the model's parameter list (it must not outlive the model) and reads each parameter's
// `trainable` flag at every step, so freezing takes effect whenever it is done. As in PyTorch,
// where a frozen parameter has no gradient, a parameter counts its own steps: one unfrozen
// later starts its momentum and Adam's bias correction afresh. Built from st::groups(...)
// (param_groups.hpp), an optimizer trains each group with its own lr and weight decay.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "strata/backend/cpu/parallel.hpp"
#include "strata/backend/formulas.hpp"
#include "strata/runtime/model.hpp"
#include "strata/train/param_groups.hpp"

namespace strata {

namespace detail {

// One state tensor per parameter, stored contiguously, and the number of steps that updated
// each parameter.
class OptimizerState {
 public:
  OptimizerState(std::span<Parameter> params, std::size_t tensors_per_param)
      : params_(params), param_steps_(params.size(), 0) {
    std::size_t total = 0;
    for (const Parameter& p : params_) total += p.size;
    for (std::size_t k = 0; k < tensors_per_param; ++k) state_.emplace_back(total, 0.0f);
  }
  std::span<const Parameter> params() const { return params_; }
  // State tensor k of the parameter whose values start at `offset` within the concatenation.
  float* slot(std::size_t k, std::size_t offset) { return state_[k].data() + offset; }
  std::span<float> tensor(std::size_t k) { return state_[k]; }
  std::size_t tensor_count() const { return state_.size(); }
  std::size_t& param_steps(std::size_t index) { return param_steps_[index]; }
  // A checkpoint keeps one step count; a resumed run gives it to every parameter.
  void set_param_steps(std::size_t steps) { param_steps_.assign(param_steps_.size(), steps); }

 private:
  std::span<const Parameter> params_;
  std::vector<std::vector<float>> state_;
  std::vector<std::size_t> param_steps_;
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
  SGD(std::span<Parameter> params, SgdOptions options)
      : SGD(params, detail::GroupOptions<SgdOptions>(params, options)) {}
  SGD(const ParamGroups& groups, SgdOptions base)
      : SGD(groups.params, detail::GroupOptions<SgdOptions>(groups, base)) {}

  void step() {
    const backend::cpu::DenormalsFlushed flushed;
    std::size_t offset = 0;
    for (std::size_t index = 0; index < state_.params().size(); ++index) {
      const Parameter& p = state_.params()[index];
      if (p.trainable)
        update(p, options_.of_parameter(index), state_.slot(0, offset),
               state_.param_steps(index)++ == 0);
      offset += p.size;
    }
    ++steps_;
  }

  SgdOptions& options() { return options_.only("SGD"); }
  SgdOptions& group(std::size_t g) { return options_.group(g); }
  std::size_t group_count() const { return options_.count(); }
  std::size_t steps() const { return steps_; }
  detail::OptimizerState& state() { return state_; }
  void set_steps(std::size_t steps) {
    steps_ = steps;
    state_.set_param_steps(steps);
  }

 private:
  SGD(std::span<Parameter> params, detail::GroupOptions<SgdOptions> options)
      : options_(std::move(options)), state_(params, 1) {
    for (std::size_t g = 0; g < options_.count(); ++g) {
      const SgdOptions& o = options_.group(g);
      if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
        throw std::invalid_argument("SGD: Nesterov momentum requires momentum > 0 and dampening 0");
    }
  }

  static void update(const Parameter& p, const SgdOptions& o, float* momentum_buffer, bool first) {
    for (std::size_t i = 0; i < p.size; ++i)
      backend::sgd_update(p.value[i], p.grad[i], momentum_buffer[i], o.lr, o.momentum, o.dampening,
                          o.weight_decay, o.nesterov, first);
  }

  detail::GroupOptions<SgdOptions> options_;
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
      : options_(params, options), state_(params, 2) {}
  AdamFamily(const ParamGroups& groups, AdamOptions base)
      : options_(groups, base), state_(groups.params, 2) {}

  void step() {
    const backend::cpu::DenormalsFlushed flushed;
    ++steps_;
    std::size_t offset = 0;
    for (std::size_t index = 0; index < state_.params().size(); ++index) {
      const Parameter& p = state_.params()[index];
      float* m = state_.slot(0, offset);
      float* v = state_.slot(1, offset);
      offset += p.size;
      if (!p.trainable) continue;
      const AdamOptions& o = options_.of_parameter(index);
      const auto t = static_cast<double>(++state_.param_steps(index));
      const double correction1 = 1.0 - std::pow(double(o.beta1), t);
      const double correction2 = 1.0 - std::pow(double(o.beta2), t);
      const auto step_size = static_cast<float>(o.lr / correction1);
      const auto sqrt_correction2 = static_cast<float>(std::sqrt(correction2));
      for (std::size_t i = 0; i < p.size; ++i)
        backend::adam_update(p.value[i], p.grad[i], m[i], v[i], o.lr, o.beta1, o.beta2, o.eps,
                             o.weight_decay, Decoupled, step_size, sqrt_correction2);
    }
  }

  AdamOptions& options() { return options_.only(Decoupled ? "AdamW" : "Adam"); }
  AdamOptions& group(std::size_t g) { return options_.group(g); }
  std::size_t group_count() const { return options_.count(); }
  std::size_t steps() const { return steps_; }
  OptimizerState& state() { return state_; }
  void set_steps(std::size_t steps) {
    steps_ = steps;
    state_.set_param_steps(steps);
  }

 private:
  GroupOptions<AdamOptions> options_;
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
  AdamW(const ParamGroups& groups, AdamOptions base = {.weight_decay = 1e-2f})
      : AdamFamily(groups, base) {}
};

}  // namespace strata
