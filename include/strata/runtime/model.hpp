// Model<Net, Backend>: a network type made concrete. Owns the parameters, their gradients,
// non-trainable buffers, and one arena for activations sized from the type and the largest
// batch seen; a steady-state training step allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "strata/backend/default.hpp"
#include "strata/backend/kernels.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/layer.hpp"
#include "strata/runtime/context.hpp"
#include "strata/train/loss.hpp"

namespace strata {

struct seed {
  std::uint64_t value = 0;
};

// One trainable tensor of a model, named as in PyTorch's state_dict. value and grad point into
// the memory of the backend named by `backend` (device memory for a CUDA model): the host reads
// them in place only on a backend with host memory, and otherwise through
// Model::read_parameters / read_gradients.
struct Parameter {
  std::string_view name;
  std::array<std::size_t, 4> dims{};
  std::size_t rank = 0;
  float* value = nullptr;
  float* grad = nullptr;
  std::size_t size = 0;
  bool trainable = true;
  // The backend's name (cpu::name, cuda::name); an optimizer refuses another backend's.
  std::string_view backend = default_backend::name;

  std::span<float> values() const { return {value, size}; }
  std::span<float> grads() const { return {grad, size}; }
};

// A model's parameters, with the backend they live on in the type, so that an optimizer built
// from them runs on the same backend: st::SGD opt(model.parameters(), ...) is SGD<Backend>.
template <class Backend>
struct Parameters : std::span<Parameter> {
  using backend = Backend;
};

// A non-trainable tensor (BatchNorm's running statistics).
struct Buffer {
  std::string_view name;
  std::array<std::size_t, 4> dims{};
  std::size_t rank = 0;
  float* value = nullptr;
  std::size_t size = 0;
};

namespace detail {

// Fails, naming the layer, the backend and the kernel family the backend lacks.
template <class Layer, class Backend, class MissingFamily>
struct backend_lacks_kernel {
  static_assert(always_false<Layer>,
                "Model<Net, Backend>: a layer of the network needs a kernel family that the "
                "backend does not provide (the layer, the backend and the family are the "
                "arguments of backend_lacks_kernel above)");
  // Reported above; true keeps the caller's assertion from repeating it.
  static constexpr bool value = true;
};

// Reports the first top-level layer of Net that Backend cannot run (a container names the
// block that holds the layer).
template <class Net, class Backend, std::size_t I = 0>
constexpr bool report_missing_kernel() {
  if constexpr (I == Net::layer_count) {
    return true;
  } else {
    using layer = typename Net::template layer<I>;
    if constexpr (RunsOn<layer, Backend>)
      return report_missing_kernel<Net, Backend, I + 1>();
    else
      return backend_lacks_kernel<layer, Backend, missing_kernel_t<layer, Backend>>::value;
  }
}

struct no_error {
  static constexpr bool value = true;
};
template <class Net, class Backend>
struct missing_kernel_report {
  static constexpr bool value = report_missing_kernel<Net, Backend>();
};
// The missing-kernel report, only once Net is a network and Backend is known (the assertions
// before it have said what is wrong otherwise).
template <class Net, class Backend>
using kernel_report_t = std::conditional_t<Network<Net> && KnownBackend<Backend>,
                                           missing_kernel_report<Net, Backend>, no_error>;

}  // namespace detail

// Reached only when no specialisation below matches: a mistake, reported in words.
template <class Net, class Backend = default_backend>
class Model {
  static_assert(Network<Net>,
                "Model<Net>: Net must be a network, Sequential<Input<C, H, W>, layers...>; a "
                "Sequential without Input is a block, usable only inside a network");
  static_assert(!Network<Net> || KnownBackend<Backend>,
                "Model<Net, Backend>: unknown backend; use strata::cpu (strata/strata.hpp "
                "includes it) or include the backend's header, strata/backend/<name>/kernels.hpp");
  static_assert(detail::kernel_report_t<Net, Backend>::value);
};

template <Network Net, KnownBackend Backend>
requires RunsOn<Net, Backend>
class Model<Net, Backend> {
  using ops = kernels<Backend>;

 public:
  using backend = Backend;
  using network = Net;
  using input_shape = typename Net::input_shape;
  using output_shape = typename Net::output_shape;
  static constexpr std::size_t parameter_count = Net::parameter_count;
  static constexpr std::size_t buffer_size = total_size(Net::buffers);

  explicit Model(seed s = {})
      : params_(parameter_count),
        grads_(parameter_count),
        buffers_(buffer_size),
        rng_(s.value),
        exec_(ops::make_exec()) {
    // Initialised on the host, where the layers' init runs, then moved to the backend.
    std::vector<float> host_params(parameter_count), host_buffers(buffer_size);
    Net::init(host_params.data(), host_buffers.data(), rng_);
    write_parameters(host_params);
    write_buffers(host_buffers);
    std::size_t offset = 0;
    for (const ParamSpec& spec : Net::params) {
      parameters_.push_back({spec.name.view(), spec.dims, spec.rank, params_.data() + offset,
                             grads_.data() + offset, spec.size(), true, Backend::name});
      offset += spec.size();
    }
    offset = 0;
    for (const BufferSpec& spec : Net::buffers) {
      buffer_refs_.push_back(
          {spec.name.view(), spec.dims, spec.rank, buffers_.data() + offset, spec.size()});
      offset += spec.size();
    }
  }

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  // input: batch * C*H*W floats, NCHW. The input is copied, so it need not outlive the call.
  Output<output_shape, float, Backend> forward(std::span<const float> input) {
    if (input.empty() || input.size() % input_shape::size != 0)
      throw std::invalid_argument("Model::forward: input has " + std::to_string(input.size()) +
                                  " values, not a positive multiple of the sample size " +
                                  input_shape::str() + " = " + std::to_string(input_shape::size));
    const std::size_t batch = input.size() / input_shape::size;
    [[maybe_unused]] const typename ops::pass_scope scope;
    reserve(batch);
    batch_ = batch;
    ops::upload(exec_, input.size(), input.data(), input_data());
    // The backward of this pass runs in the same mode, whatever train()/eval() does meanwhile.
    pass_training_ = training_;
    // Counted before the pass: if it throws, no earlier output's loss matches what is left.
    ++generation_;
    Net::forward(context(), input_data(), output_data());
    return {output_data(), output_grad(), batch_, generation_};
  }

  // The logits of each AuxiliaryHead of the last (training) forward, in network order, with the
  // gradient slots a loss writes into: auto [aux1, aux2] = model.auxiliary_outputs();
  // Model::backward adds each head's gradient into the main path (auxiliary.hpp).
  auto auxiliary_outputs() {
    if (batch_ == 0 || !pass_training_)
      throw std::logic_error(
          "Model::auxiliary_outputs: the auxiliary heads run only in a training-mode forward; "
          "call train() and forward() first");
    return outputs_at(auxiliary_sites_t<Net>{});
  }

  // Backpropagates the loss computed from this model's last output; writes every gradient.
  void backward(const Loss& loss) { backward_into(loss, nullptr); }

  // The same, and also writes d(loss)/d(input), [batch, C, H, W] like the last forward's input,
  // into input_gradient (saliency maps, adversarial inputs). Costs the first layer's input
  // gradient, which the plain backward skips.
  void backward(const Loss& loss, std::span<float> input_gradient) {
    if (batch_ != 0 && input_gradient.size() != batch_ * input_shape::size)
      throw std::invalid_argument(
          "Model::backward: input_gradient has " + std::to_string(input_gradient.size()) +
          " values; the last forward's input has " + std::to_string(batch_ * input_shape::size));
    backward_into(loss, input_gradient.data());
  }

  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool training() const { return training_; }

  Parameters<Backend> parameters() { return {parameters_}; }
  std::span<const Buffer> buffers() const { return buffer_refs_; }
  std::span<float> parameter_data() { return {params_.data(), parameter_count}; }
  std::span<const float> parameter_data() const { return {params_.data(), parameter_count}; }
  std::span<float> gradient_data() { return {grads_.data(), parameter_count}; }
  std::span<float> buffer_data() { return {buffers_.data(), buffer_size}; }

  // Copies of the parameters, their gradients and the buffers on the host, in Net::params and
  // Net::buffers order, whatever memory the backend keeps them in; and the way back. A model's
  // state moves between backends as read_parameters() of one into write_parameters() of the
  // other.
  std::vector<float> read_parameters() const { return read(params_, parameter_count); }
  std::vector<float> read_gradients() const { return read(grads_, parameter_count); }
  std::vector<float> read_buffers() const { return read(buffers_, buffer_size); }
  void write_parameters(std::span<const float> host) {
    write(host, params_, parameter_count, "parameters");
  }
  void write_buffers(std::span<const float> host) { write(host, buffers_, buffer_size, "buffers"); }

  // The output of layer I of the last forward, [batch, shape of layer I], in place (on a
  // backend with host memory) or as a copy on the host (on every backend).
  template <std::size_t I>
  std::span<const float> activation() const requires kernels<Backend>::host_memory {
    static_assert(I < Net::layer_count, "Model::activation: layer index out of range");
    if constexpr (I < Net::layer_count)
      return activation_data<I>();
    else
      return {};
  }
  template <std::size_t I>
  std::vector<float> read_activation() const {
    static_assert(I < Net::layer_count, "Model::read_activation: layer index out of range");
    std::vector<float> host;
    if constexpr (I < Net::layer_count) {
      const std::span<const float> data = activation_data<I>();
      host.resize(data.size());
      ops::download(exec_, host.size(), data.data(), host.data());
    }
    return host;
  }

  std::size_t batch() const { return batch_; }
  std::size_t threads() const { return ops::workers(exec_); }
  Rng& rng() { return rng_; }

 private:
  using storage = typename ops::template buffer<float>;

  template <std::size_t I>
  std::span<const float> activation_data() const {
    using shape = typename Net::template layer<I>::output_shape;
    if (I + 1 == Net::layer_count) return {output_data(), batch_ * shape::size};
    return {saved_data() + Net::activation_offset(I, batch_), batch_ * shape::size};
  }

  std::vector<float> read(const storage& from, std::size_t count) const {
    std::vector<float> host(count);
    ops::download(exec_, count, from.data(), host.data());
    return host;
  }
  void write(std::span<const float> host, storage& to, std::size_t count, const char* what) {
    if (host.size() != count)
      throw std::invalid_argument("Model::write_" + std::string(what) + ": got " +
                                  std::to_string(host.size()) + " values, the network has " +
                                  std::to_string(count));
    ops::upload(exec_, count, host.data(), to.data());
  }

  void backward_into(const Loss& loss, float* input_gradient) {
    if (batch_ == 0 || loss.gradient != output_grad())
      throw std::logic_error(
          "Model::backward: the loss was not computed from this model's last forward output");
    if (loss.generation != generation_)
      throw std::logic_error(
          "Model::backward: the loss was computed from an earlier forward's output (generation " +
          std::to_string(loss.generation) + "; the last forward is " + std::to_string(generation_) +
          "); call backward before the next forward, or compute the loss again");
    [[maybe_unused]] const typename ops::pass_scope scope;
    Net::backward(context(), input_data(), output_data(), output_grad(), input_gradient);
  }

  // Arena layout: input | output | output gradient | saved state | scratch.
  void reserve(std::size_t batch) {
    const exec_t<Backend> exec = ops::make_exec();
    if (batch <= capacity_ && ops::workers(exec) == ops::workers(exec_)) return;
    capacity_ = std::max(batch, capacity_);
    exec_ = exec;
    input_size_ = capacity_ * input_shape::size;
    output_size_ = capacity_ * output_shape::size;
    saved_size_ = capacity_ * Net::saved_per_sample;
    arena_.resize(input_size_ + 2 * output_size_ + saved_size_ +
                  Net::template scratch_size<Backend>(capacity_, ops::workers(exec_)));
  }
  template <class... Sites>
  auto outputs_at(site_list<Sites...>) {
    return std::tuple{Output<typename Sites::head::logits_shape, float, Backend>{
        Sites::head::logits(saved_at<Sites>(), batch_),
        Sites::head::logit_grads(saved_at<Sites>(), batch_), batch_, generation_}...};
  }
  template <class Site>
  float* saved_at() {
    return saved_data() + Site::offset * batch_;
  }

  Ctx<float, Backend> context() {
    return make_context<Backend>(LayerMemory<float>{.params = params_.data(),
                                                    .grads = grads_.data(),
                                                    .saved = saved_data(),
                                                    .scratch = saved_data() + saved_size_,
                                                    .buffers = buffers_.data()},
                                 batch_, exec_, pass_training_, &rng_);
  }
  float* input_data() { return arena_.data(); }
  float* output_data() { return arena_.data() + input_size_; }
  const float* output_data() const { return arena_.data() + input_size_; }
  float* output_grad() { return output_data() + output_size_; }
  float* saved_data() { return output_grad() + output_size_; }
  const float* saved_data() const { return arena_.data() + input_size_ + 2 * output_size_; }

  storage params_, grads_, buffers_, arena_;
  std::vector<Parameter> parameters_;
  std::vector<Buffer> buffer_refs_;
  Rng rng_;
  exec_t<Backend> exec_;
  std::size_t capacity_ = 0, batch_ = 0;
  std::uint64_t generation_ = 0;
  std::size_t input_size_ = 0, output_size_ = 0, saved_size_ = 0;
  bool training_ = true, pass_training_ = true;
};

}  // namespace strata
