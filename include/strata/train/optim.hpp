// Optimizers with PyTorch's update rules (torch.optim, single-tensor path). Each keeps its
// state in buffers allocated at construction, so step() allocates nothing. An optimizer refers
// to the model's parameter list (it must not outlive the model) and reads each parameter's
// `trainable` flag at every step, so freezing takes effect whenever it is done. As in PyTorch,
// where a frozen parameter has no gradient, a parameter counts its own steps: one unfrozen
// later starts its momentum and Adam's bias correction afresh. Built from st::groups(...)
// (param_groups.hpp), an optimizer trains each group with its own lr and weight decay.
//
// An optimizer runs on its parameters' backend, its state in that backend's memory:
// st::SGD opt(model.parameters(), ...) deduces SGD<Backend> from the model; one built from a
// plain std::span<Parameter> is the default backend's, and refuses another backend's
// parameters.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "strata/backend/default.hpp"
#include "strata/backend/formulas.hpp"
#include "strata/backend/kernels.hpp"
#include "strata/runtime/model.hpp"
#include "strata/train/param_groups.hpp"

namespace strata {

namespace detail {

// The parameters an optimizer updates, checked to live on its backend.
template <class Backend>
std::span<Parameter> checked_parameters(std::span<Parameter> params, const char* optimizer) {
  for (const Parameter& p : params)
    if (p.backend != Backend::name)
      throw std::invalid_argument(std::string(optimizer) + "<" + Backend::name + ">: parameter '" +
                                  std::string(p.name) + "' lives on backend " +
                                  std::string(p.backend) +
                                  "; build the optimizer from that model's parameters()");
  return params;
}

// One state tensor per parameter, stored contiguously in Backend's memory, and the number of
// steps that updated each parameter.
template <class Backend>
class OptimizerState {
  using ops = kernels<Backend>;

 public:
  using backend = Backend;

  OptimizerState(std::span<Parameter> params, std::size_t tensors_per_param)
      : params_(params), param_steps_(params.size(), 0), exec_(ops::make_exec()) {
    for (const Parameter& p : params_) size_ += p.size;
    // Zero-filled, as torch.optim's state starts.
    for (std::size_t k = 0; k < tensors_per_param; ++k) state_.emplace_back(size_);
  }
  std::span<const Parameter> params() const { return params_; }
  // State tensor k of the parameter whose values start at `offset` within the concatenation, in
  // Backend's memory.
  float* slot(std::size_t k, std::size_t offset) { return state_[k].data() + offset; }
  // State tensor k in place, on a backend with host memory.
  std::span<float> tensor(std::size_t k) requires kernels<Backend>::host_memory {
    return {state_[k].data(), size_};
  }
  std::size_t tensor_size() const { return size_; }
  std::size_t tensor_count() const { return state_.size(); }
  // State tensor k on the host, and the way back (checkpoints).
  std::vector<float> read_tensor(std::size_t k) const {
    std::vector<float> host(size_);
    ops::download(exec_, size_, state_[k].data(), host.data());
    return host;
  }
  void write_tensor(std::size_t k, std::span<const float> host) {
    if (host.size() != size_)
      throw std::invalid_argument("OptimizerState::write_tensor: got " +
                                  std::to_string(host.size()) + " values, the state has " +
                                  std::to_string(size_));
    ops::upload(exec_, size_, host.data(), state_[k].data());
  }
  std::size_t& param_steps(std::size_t index) { return param_steps_[index]; }
  // A checkpoint keeps one step count; a resumed run gives it to every parameter.
  void set_param_steps(std::size_t steps) { param_steps_.assign(param_steps_.size(), steps); }
  const exec_t<Backend>& exec() const { return exec_; }

 private:
  std::span<const Parameter> params_;
  std::size_t size_ = 0;
  std::vector<typename ops::template buffer<float>> state_;
  std::vector<std::size_t> param_steps_;
  exec_t<Backend> exec_;
};

}  // namespace detail

struct SgdOptions {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

template <class Backend = default_backend>
class SGD {
 public:
  using backend = Backend;

  SGD(Parameters<Backend> params, SgdOptions options)
      : SGD(std::span<Parameter>(params), options) {}
  SGD(std::span<Parameter> params, SgdOptions options)
      : SGD(params, detail::GroupOptions<SgdOptions>(params, options)) {}
  SGD(const ParamGroups<Backend>& groups, SgdOptions base)
      : SGD(groups.params, detail::GroupOptions<SgdOptions>(groups, base)) {}

  void step() {
    std::size_t offset = 0;
    for (std::size_t index = 0; index < state_.params().size(); ++index) {
      const Parameter& p = state_.params()[index];
      if (p.trainable) {
        const SgdOptions& o = options_.of_parameter(index);
        const bool first = state_.param_steps(index)++ == 0;
        kernels<Backend>::sgd_step(
            state_.exec(), p.size, p.value, p.grad, state_.slot(0, offset),
            {o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, first});
      }
      offset += p.size;
    }
    ++steps_;
  }

  SgdOptions& options() { return options_.only("SGD"); }
  SgdOptions& group(std::size_t g) { return options_.group(g); }
  std::size_t group_count() const { return options_.count(); }
  std::size_t steps() const { return steps_; }
  detail::OptimizerState<Backend>& state() { return state_; }
  void set_steps(std::size_t steps) {
    steps_ = steps;
    state_.set_param_steps(steps);
  }

 private:
  SGD(std::span<Parameter> params, detail::GroupOptions<SgdOptions> options)
      : options_(std::move(options)),
        state_(detail::checked_parameters<Backend>(params, "SGD"), 1) {
    for (std::size_t g = 0; g < options_.count(); ++g) {
      const SgdOptions& o = options_.group(g);
      if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
        throw std::invalid_argument("SGD: Nesterov momentum requires momentum > 0 and dampening 0");
    }
  }

  detail::GroupOptions<SgdOptions> options_;
  detail::OptimizerState<Backend> state_;
  std::size_t steps_ = 0;
};

template <class Backend>
SGD(Parameters<Backend>, SgdOptions) -> SGD<Backend>;
template <class Backend>
SGD(const ParamGroups<Backend>&, SgdOptions) -> SGD<Backend>;
SGD(std::span<Parameter>, SgdOptions)->SGD<default_backend>;

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
template <class Backend, bool Decoupled>
class AdamFamily {
 public:
  using backend = Backend;

  AdamFamily(std::span<Parameter> params, AdamOptions options)
      : options_(params, options),
        state_(checked_parameters<Backend>(params, Decoupled ? "AdamW" : "Adam"), 2) {}
  AdamFamily(const ParamGroups<Backend>& groups, AdamOptions base)
      : options_(groups, base),
        state_(checked_parameters<Backend>(groups.params, Decoupled ? "AdamW" : "Adam"), 2) {}

  void step() {
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
      kernels<Backend>::adam_step(state_.exec(), p.size, p.value, p.grad, m, v,
                                  strata::backend::adam_step_for(o.lr, o.beta1, o.beta2, o.eps,
                                                                 o.weight_decay, Decoupled, t));
    }
  }

  AdamOptions& options() { return options_.only(Decoupled ? "AdamW" : "Adam"); }
  AdamOptions& group(std::size_t g) { return options_.group(g); }
  std::size_t group_count() const { return options_.count(); }
  std::size_t steps() const { return steps_; }
  OptimizerState<Backend>& state() { return state_; }
  void set_steps(std::size_t steps) {
    steps_ = steps;
    state_.set_param_steps(steps);
  }

 private:
  GroupOptions<AdamOptions> options_;
  OptimizerState<Backend> state_;
  std::size_t steps_ = 0;
};

}  // namespace detail

template <class Backend = default_backend>
class Adam : public detail::AdamFamily<Backend, false> {
 public:
  Adam(Parameters<Backend> params, AdamOptions options)
      : detail::AdamFamily<Backend, false>(params, options) {}
  Adam(std::span<Parameter> params, AdamOptions options)
      : detail::AdamFamily<Backend, false>(params, options) {}
  Adam(const ParamGroups<Backend>& groups, AdamOptions base)
      : detail::AdamFamily<Backend, false>(groups, base) {}
};

template <class Backend>
Adam(Parameters<Backend>, AdamOptions) -> Adam<Backend>;
template <class Backend>
Adam(const ParamGroups<Backend>&, AdamOptions) -> Adam<Backend>;
Adam(std::span<Parameter>, AdamOptions)->Adam<default_backend>;

// AdamW's default weight decay is PyTorch's (0.01); pass options to change it.
template <class Backend = default_backend>
class AdamW : public detail::AdamFamily<Backend, true> {
 public:
  AdamW(Parameters<Backend> params, AdamOptions options = {.weight_decay = 1e-2f})
      : detail::AdamFamily<Backend, true>(params, options) {}
  AdamW(std::span<Parameter> params, AdamOptions options = {.weight_decay = 1e-2f})
      : detail::AdamFamily<Backend, true>(params, options) {}
  AdamW(const ParamGroups<Backend>& groups, AdamOptions base = {.weight_decay = 1e-2f})
      : detail::AdamFamily<Backend, true>(groups, base) {}
};

template <class Backend>
AdamW(Parameters<Backend>, AdamOptions) -> AdamW<Backend>;
template <class Backend>
AdamW(Parameters<Backend>) -> AdamW<Backend>;
template <class Backend>
AdamW(const ParamGroups<Backend>&, AdamOptions) -> AdamW<Backend>;
template <class Backend>
AdamW(const ParamGroups<Backend>&) -> AdamW<Backend>;
AdamW(std::span<Parameter>, AdamOptions)->AdamW<default_backend>;
AdamW(std::span<Parameter>)->AdamW<default_backend>;

}  // namespace strata
