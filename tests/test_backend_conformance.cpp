// The conformance harness's backend column: every layer and block of the list in
// layer_cases.hpp, and whole zoo models, run on the CPU backend and on the CUDA backend's own
// code, forward and backward, in training and in evaluation, and compared to float tolerance.
//
// Built host-run in the normal suite (Thrust's OpenMP device system, see
// backend/cuda/device.hpp): the CUDA backend's functors and algorithms execute on the CPU. Built
// by nvcc (tests/cuda/test_backend_conformance_gpu.cu), the layer column runs on the GPU, data
// staged through each backend's upload and download.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "conformance.hpp"
#include "layer_cases.hpp"
#include "strata/backend/cuda/kernels.hpp"
#include "strata/models/efficientnet.hpp"
#include "strata/models/googlenet.hpp"
#include "strata/models/mobilenet_v2.hpp"
#include "strata/models/resnet.hpp"
#include "strata/models/simple_cnn.hpp"
#include "strata/strata.hpp"

namespace st = strata;
namespace stt = strata::test;

namespace {

// Float results of two backends: the same math, different summation orders.
constexpr stt::Tolerance tolerance{1e-4, 1e-5};

std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float low = -1.f,
                                 float high = 1.f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(low, high);
  std::vector<float> v(n);
  for (float& e : v) e = uniform(rng);
  return v;
}

// What one backend computed for a layer: the outputs, the gradients, the buffers afterwards.
struct Results {
  std::vector<double> y, dx, dparams, buffers;
};

// Host data in the backend's memory and back, so that the column runs on a GPU as well.
template <class Backend>
struct Staged {
  typename st::kernels<Backend>::template buffer<float> memory;
  std::size_t size;
  Staged(const st::exec_t<Backend>& exec, const std::vector<float>& host)
      : memory(host.size()), size(host.size()) {
    st::kernels<Backend>::upload(exec, size, host.data(), memory.data());
  }
  explicit Staged(std::size_t count) : memory(count), size(count) {}
  float* data() { return memory.data(); }
  std::vector<double> read(const st::exec_t<Backend>& exec) const {
    std::vector<float> host(size);
    st::kernels<Backend>::download(exec, size, memory.data(), host.data());
    return stt::widen(host);
  }
};

template <class Layer, class Backend>
Results run_layer(std::size_t batch, bool training) {
  using ops = st::kernels<Backend>;
  const auto exec = ops::make_exec();
  st::Rng init_rng(3);
  std::vector<float> host_params(Layer::parameter_count), host_buffers(st::buffer_count<Layer>());
  Layer::init(host_params.data(), host_buffers.data(), init_rng);
  // Parameters off their initial values, so that BatchNorm's gamma and beta matter too.
  const auto noise = random_floats(host_params.size(), 4, -0.1f, 0.1f);
  for (std::size_t i = 0; i < host_params.size(); ++i) host_params[i] += noise[i];
  Staged<Backend> params(exec, host_params), buffers(exec, host_buffers);
  Staged<Backend> x(exec, random_floats(batch * Layer::input_shape::size, 5));
  Staged<Backend> dy(exec, random_floats(batch * Layer::output_shape::size, 6));
  Staged<Backend> y(dy.size), dx(x.size), grads(params.size),
      saved(batch * Layer::saved_per_sample),
      scratch(Layer::template scratch_size<Backend>(batch, ops::workers(exec)));
  st::Rng rng(7);
  const auto ctx = st::make_context<Backend>(st::LayerMemory<float>{.params = params.data(),
                                                                    .grads = grads.data(),
                                                                    .saved = saved.data(),
                                                                    .scratch = scratch.data(),
                                                                    .buffers = buffers.data()},
                                             batch, exec, training, &rng);
  Layer::forward(ctx, x.data(), y.data());
  Layer::backward(ctx, x.data(), y.data(), dy.data(), dx.data());
  return {y.read(exec), dx.read(exec), grads.read(exec), buffers.read(exec)};
}

template <class Layer>
void compare_backends(std::size_t batch) {
  for (const bool training : {true, false}) {
    INFO(Layer::describe() << " on " << Layer::input_shape::str() << ", batch " << batch
                           << (training ? ", training" : ", evaluation"));
    const Results cpu = run_layer<Layer, st::cpu>(batch, training);
    const Results cuda = run_layer<Layer, st::cuda>(batch, training);
    STRATA_CHECK_CLOSE("y", cuda.y, cpu.y, tolerance);
    STRATA_CHECK_CLOSE("dx", cuda.dx, cpu.dx, tolerance);
    STRATA_CHECK_CLOSE("parameter gradients", cuda.dparams, cpu.dparams, tolerance);
    STRATA_CHECK_CLOSE("buffers", cuda.buffers, cpu.buffers, tolerance);
  }
}

template <class... Layers>
void compare_all(stt::layer_list<Layers...>, std::size_t batch) {
  (compare_backends<Layers>(batch), ...);
}

#if !STRATA_CUDA_ON_DEVICE
// Whole models need the loss, which reads the logits on the host: host-run only, until the
// CUDA backend has its loss kernel behind the interface.

// What one training or evaluation step of a model produced, on the host.
struct Step {
  std::vector<float> logits, gradients, buffers;
  double loss = 0;
};

template <class M>
Step step(M& model, const std::vector<float>& x, const std::vector<std::int32_t>& labels,
          bool training) {
  model.train(training);
  const auto out = model.forward(x);
  Step s;
  s.logits.assign(out.values().begin(), out.values().end());
  const auto loss = st::cross_entropy(out, labels);
  s.loss = loss.value;
  // torchvision's recipe for the auxiliary heads: 0.3 of each head's loss.
  if constexpr (st::auxiliary_sites_t<typename M::network>::size != 0)
    if (training) {
      const auto heads = model.auxiliary_outputs();
      std::apply(
          [&](const auto&... head) { (st::cross_entropy(head, labels, {.weight = 0.3}), ...); },
          heads);
    }
  model.backward(loss);
  s.gradients = model.read_gradients();
  s.buffers = model.read_buffers();
  return s;
}

// ||a - b|| / ||b||, 0 for two empty tensors.
double relative_distance(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
    norm += double(b[i]) * double(b[i]);
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

// A whole network is a much longer computation than one layer, and in training (batch
// statistics over a few values, ReLU kinks) a badly conditioned one: changing every parameter
// of MobileNetV2 at 64x64, batch 2, by a random relative 1e-7 moves its training gradients by
// 0.9% on the CPU alone (1e-6: 1.7%). So whole models are held to their own float sensitivity,
// measured in the same run: the CUDA backend may be at most twice as far from the CPU as a
// random relative 1e-6 change of every parameter moves the CPU (the size of the backends'
// per-layer differences, which the layer column above measures at 1e-7 to 1e-6), plus 1e-5 for
// summation order where the network is well conditioned. An indexing mistake moves results by
// their own order of magnitude, far beyond either.
void check_within_noise(const char* what, const std::vector<float>& cuda,
                        const std::vector<float>& cpu, const std::vector<float>& nudged) {
  const double distance = relative_distance(cuda, cpu);
  const double noise = relative_distance(nudged, cpu);
  INFO(what << ": CUDA vs CPU " << distance << ", CPU with its parameters nudged " << noise);
  CHECK(distance <= 2 * noise + 1e-5);
}

// A whole model on both backends from the same parameters: forward, loss and backward, in
// training (auxiliary heads included) and in evaluation.
template <class Net>
void compare_models(std::size_t batch) {
  // One seed, so that all three draw the same dropout and stochastic-depth masks; parameters
  // moved off their initial values, and from one backend to the other through the host.
  st::Model<Net, st::cpu> cpu_model{st::seed{11}}, nudged_model{st::seed{11}};
  st::Model<Net, st::cuda> cuda_model{st::seed{11}};
  std::vector<float> params = cpu_model.read_parameters();
  const auto noise = random_floats(params.size(), 13, 0.9f, 1.1f);
  for (std::size_t i = 0; i < params.size(); ++i) params[i] *= noise[i];
  cpu_model.write_parameters(params);
  cuda_model.write_parameters(cpu_model.read_parameters());
  cuda_model.write_buffers(cpu_model.read_buffers());
  REQUIRE(cuda_model.read_parameters() == params);
  const auto nudge = random_floats(params.size(), 14);
  for (std::size_t i = 0; i < params.size(); ++i) params[i] *= 1 + 1e-6f * nudge[i];
  nudged_model.write_parameters(params);

  const auto x = random_floats(batch * Net::input_shape::size, 12);
  std::vector<std::int32_t> labels(batch);
  for (std::size_t n = 0; n < batch; ++n)
    labels[n] = static_cast<std::int32_t>(n % Net::output_shape::size);
  for (const bool training : {true, false}) {
    INFO(std::string(training ? "training" : "evaluation"));
    const Step cpu = step(cpu_model, x, labels, training);
    const Step nudged = step(nudged_model, x, labels, training);
    const Step cuda = step(cuda_model, x, labels, training);
    check_within_noise("logits", cuda.logits, cpu.logits, nudged.logits);
    check_within_noise("parameter gradients", cuda.gradients, cpu.gradients, nudged.gradients);
    check_within_noise("buffers", cuda.buffers, cpu.buffers, nudged.buffers);
    CHECK(std::abs(cuda.loss - cpu.loss) <= 2 * std::abs(nudged.loss - cpu.loss) + 1e-5);
  }
}

#endif

}  // namespace

TEST_CASE("backend column: every layer and block, CPU against the CUDA backend's code") {
  compare_all(stt::layer_cases{}, 3);
}

TEST_CASE("backend column: BatchNorm and pooling at batch 1 and 2") {
  compare_all(stt::small_batch_cases{}, 1);
  compare_all(stt::small_batch_cases{}, 2);
}

#if !STRATA_CUDA_ON_DEVICE
TEST_CASE("backend column: whole models, forward, loss and backward") {
  SUBCASE("SimpleCNN") {
    compare_models<st::models::SimpleCNN<>>(4);
  }
  SUBCASE("ResNet-18 on 28x28") {
    compare_models<st::models::ResNet18<10, st::Input<1, 28, 28>>>(8);
  }
  SUBCASE("MobileNetV2 on 64x64") {
    compare_models<st::models::MobileNetV2<10, st::Input<3, 64, 64>>>(2);
  }
  SUBCASE("GoogLeNet with auxiliary heads on 96x96") {
    compare_models<st::models::GoogLeNet<10, st::Input<3, 96, 96>, true>>(2);
  }
  SUBCASE("EfficientNet-B0 on 64x64") {
    compare_models<st::models::EfficientNetB0<10, st::Input<3, 64, 64>>>(2);
  }
}
#endif
