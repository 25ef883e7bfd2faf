// The conformance harness's backend column, whole models: SimpleCNN, ResNet-18 (28x28),
// MobileNetV2, GoogLeNet with its auxiliary heads, EfficientNet-B0, MobileNetV3-Small and
// EfficientNet-Lite0 on the CPU backend and on
// the CUDA backend's own code from the same parameters: forward, loss, backward and running
// statistics in training and evaluation, then optimizer steps. Layer by layer:
// test_backend_conformance.cpp.
//
// Built host-run in the normal suite; built by nvcc
// (tests/cuda/test_backend_conformance_models_gpu.cu), it runs on the GPU.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "random_values.hpp"
#include "strata/backend/cuda/kernels.hpp"
#include "strata/models/efficientnet.hpp"
#include "strata/models/efficientnet_lite.hpp"
#include "strata/models/googlenet.hpp"
#include "strata/models/mobilenet_v2.hpp"
#include "strata/models/mobilenet_v3.hpp"
#include "strata/models/resnet.hpp"
#include "strata/models/simple_cnn.hpp"
#include "strata/strata.hpp"

namespace st = strata;

namespace {

using strata::test::random_values;

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
  s.logits = out.read();
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
template <class Net, class MakeOptimizer>
void compare_models(std::size_t batch, MakeOptimizer make_optimizer) {
  // One seed, so that all three draw the same dropout and stochastic-depth masks; parameters
  // moved off their initial values, and from one backend to the other through the host.
  st::Model<Net, st::cpu> cpu_model{st::seed{11}}, nudged_model{st::seed{11}};
  st::Model<Net, st::cuda> cuda_model{st::seed{11}};
  std::vector<float> params = cpu_model.read_parameters();
  const auto noise = random_values(params.size(), 13, 0.9f, 1.1f);
  for (std::size_t i = 0; i < params.size(); ++i) params[i] *= noise[i];
  cpu_model.write_parameters(params);
  cuda_model.write_parameters(cpu_model.read_parameters());
  cuda_model.write_buffers(cpu_model.read_buffers());
  REQUIRE(cuda_model.read_parameters() == params);
  const auto nudge = random_values(params.size(), 14);
  for (std::size_t i = 0; i < params.size(); ++i) params[i] *= 1 + 1e-6f * nudge[i];
  nudged_model.write_parameters(params);

  const auto x = random_values(batch * Net::input_shape::size, 12);
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

  // Then the optimizer, on each model's own backend: what each of two training steps changes in
  // the parameters (momentum and Adam's moments carried from the first to the second), with the
  // first layer frozen. Before each step the three models start again from the CPU's
  // parameters and buffers (the nudged one nudged afresh): across steps the backends' float
  // differences would otherwise compound through the network, and the comparison would no
  // longer measure the step.
  auto cpu_optimizer = make_optimizer(cpu_model);
  auto nudged_optimizer = make_optimizer(nudged_model);
  auto cuda_optimizer = make_optimizer(cuda_model);
  static_assert(std::is_same_v<typename decltype(cuda_optimizer)::backend, st::cuda>);
  st::freeze_layers<0, 1>(cpu_model);
  st::freeze_layers<0, 1>(nudged_model);
  st::freeze_layers<0, 1>(cuda_model);
  const std::size_t frozen = Net::template layer<0>::parameter_count;
  REQUIRE(frozen > 0);
  const auto update = [](const std::vector<float>& after, const std::vector<float>& before) {
    std::vector<float> d(after.size());
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = after[i] - before[i];
    return d;
  };
  for (int k = 1; k <= 2; ++k) {
    INFO("optimizer step " << k);
    const auto before = cpu_model.read_parameters();
    auto nudged_before = before;
    for (std::size_t i = 0; i < before.size(); ++i) nudged_before[i] *= 1 + 1e-6f * nudge[i];
    cuda_model.write_parameters(before);
    nudged_model.write_parameters(nudged_before);
    cuda_model.write_buffers(cpu_model.read_buffers());
    nudged_model.write_buffers(cpu_model.read_buffers());
    step(cpu_model, x, labels, true);
    cpu_optimizer.step();
    step(nudged_model, x, labels, true);
    nudged_optimizer.step();
    step(cuda_model, x, labels, true);
    cuda_optimizer.step();
    const auto cpu_update = update(cpu_model.read_parameters(), before);
    const auto cuda_update = update(cuda_model.read_parameters(), before);
    check_within_noise("parameter update", cuda_update, cpu_update,
                       update(nudged_model.read_parameters(), nudged_before));
    // The frozen first layer did not move; the rest did.
    CHECK(std::all_of(cuda_update.begin(), cuda_update.begin() + frozen,
                      [](float d) { return d == 0; }));
    CHECK(std::any_of(cuda_update.begin() + frozen, cuda_update.end(),
                      [](float d) { return d != 0; }));
  }
}

// Parameter groups by the first top-level name ("0." or "features."): the first layer trains
// at its own rate.
template <class M>
st::ParamGroups<typename M::backend> first_layer_group(M& model, float lr) {
  const std::string_view first = model.parameters()[0].name;
  return st::groups(model,
                    {{.prefix = first.substr(0, first.find('.') + 1), .lr = lr}, {.prefix = ""}});
}

}  // namespace

TEST_CASE("backend column: whole models, forward, loss, backward and optimizer steps") {
  SUBCASE("SimpleCNN, Adam with a parameter group") {
    compare_models<st::models::SimpleCNN<>>(
        4, [](auto& m) { return st::Adam(first_layer_group(m, 1e-2f), {.lr = 1e-3f}); });
  }
  SUBCASE("ResNet-18 on 28x28, SGD with Nesterov momentum and weight decay") {
    compare_models<st::models::ResNet18<10, st::Input<1, 28, 28>>>(8, [](auto& m) {
      return st::SGD(m.parameters(),
                     {.lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-4f, .nesterov = true});
    });
  }
  SUBCASE("MobileNetV2 on 64x64, AdamW") {
    compare_models<st::models::MobileNetV2<10, st::Input<3, 64, 64>>>(
        2, [](auto& m) { return st::AdamW(m.parameters(), {.lr = 1e-3f, .weight_decay = 0.05f}); });
  }
  SUBCASE("GoogLeNet with auxiliary heads on 96x96, SGD with dampened momentum") {
    compare_models<st::models::GoogLeNet<10, st::Input<3, 96, 96>, true>>(2, [](auto& m) {
      return st::SGD(m.parameters(),
                     {.lr = 0.01f, .momentum = 0.9f, .dampening = 0.1f, .weight_decay = 1e-3f});
    });
  }
  SUBCASE("EfficientNet-B0 on 64x64, plain SGD") {
    compare_models<st::models::EfficientNetB0<10, st::Input<3, 64, 64>>>(
        2, [](auto& m) { return st::SGD(m.parameters(), {.lr = 0.1f}); });
  }
  SUBCASE("MobileNetV3-Small on 64x64, Adam") {
    compare_models<st::models::MobileNetV3Small<10, st::Input<3, 64, 64>>>(
        2, [](auto& m) { return st::Adam(m.parameters(), {.lr = 1e-3f}); });
  }
  SUBCASE("EfficientNet-Lite0 on 64x64 (asymmetric same padding), SGD with momentum") {
    compare_models<st::models::EfficientNetLite0<10, st::Input<3, 64, 64>>>(
        2, [](auto& m) { return st::SGD(m.parameters(), {.lr = 0.05f, .momentum = 0.9f}); });
  }
}
