// The conformance harness's backend column, layer by layer: every layer and block of the list
// in layer_cases.hpp run on the CPU backend and on the CUDA backend's own code, forward and
// backward, in training and in evaluation, and compared to float tolerance; the losses; a CUDA
// model's steady training step (no allocation) and its I/O (checkpoints, safetensors,
// copy_matching, pictures). Whole models: test_backend_conformance_models.cpp.
//
// Built host-run in the normal suite (Thrust's OpenMP device system, see
// backend/cuda/device.hpp): the CUDA backend's functors and algorithms execute on the CPU. Built
// by nvcc (tests/cuda/test_backend_conformance_gpu.cu), it runs on the GPU, data staged through
// each backend's upload and download.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if defined(__CUDACC__)
#define STRATA_TEST_ALLOCATION_COUNTER_ELSEWHERE 1  // test_backend_conformance_gpu_host.cpp
#endif
#include "allocation_counter.hpp"
#include "conformance.hpp"
#include "layer_cases.hpp"
#include "random_values.hpp"
#include "steady_step.hpp"
#include "strata/backend/cuda/kernels.hpp"
#include "strata/image/visualize.hpp"
#include "strata/models/resnet.hpp"
#include "strata/models/simple_cnn.hpp"
#include "strata/strata.hpp"
// safetensors needs nlohmann-json, an optional dependency (its subcase says when it is absent).
#if __has_include(<nlohmann/json.hpp>)
#include "strata/io/safetensors.hpp"
#define STRATA_TEST_SAFETENSORS 1
#endif

namespace st = strata;
namespace stt = strata::test;

namespace {

using stt::random_values;

// Float results of two backends: the same math, different summation orders.
constexpr stt::Tolerance tolerance{1e-4, 1e-5};

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
  const auto noise = random_values(host_params.size(), 4, -0.1f, 0.1f);
  for (std::size_t i = 0; i < host_params.size(); ++i) host_params[i] += noise[i];
  Staged<Backend> params(exec, host_params), buffers(exec, host_buffers);
  Staged<Backend> x(exec, random_values(batch * Layer::input_shape::size, 5));
  Staged<Backend> dy(exec, random_values(batch * Layer::output_shape::size, 6));
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

}  // namespace

TEST_CASE("backend column: every layer and block, CPU against the CUDA backend's code") {
  compare_all(stt::layer_cases{}, 3);
}

TEST_CASE("backend column: BatchNorm and pooling at batch 1 and 2") {
  compare_all(stt::small_batch_cases{}, 1);
  compare_all(stt::small_batch_cases{}, 2);
}

TEST_CASE("backend column: the loss, with label smoothing and a weight, and its label checks") {
  constexpr std::size_t batch = 6, classes = 10;
  const auto logits = random_values(batch * classes, 15, -4.f, 4.f);
  const std::vector<std::int32_t> labels{0, 9, 3, 3, 7, 1};
  const auto run = [&]<class Backend>(Backend*, double smoothing, double weight,
                                      std::vector<std::int32_t> with) {
    const auto exec = st::kernels<Backend>::make_exec();
    Staged<Backend> x(exec, logits), grad(logits.size());
    const double loss = st::softmax_cross_entropy<Backend>(x.data(), batch, classes,
                                                           std::span<const std::int32_t>(with),
                                                           smoothing, grad.data(), weight);
    return std::pair{loss, grad.read(exec)};
  };
  for (const auto& [smoothing, weight] : {std::pair{0.0, 1.0}, std::pair{0.1, 0.3}}) {
    INFO("label smoothing " << smoothing << ", weight " << weight);
    const auto [cpu_loss, cpu_grad] = run((st::cpu*)nullptr, smoothing, weight, labels);
    const auto [cuda_loss, cuda_grad] = run((st::cuda*)nullptr, smoothing, weight, labels);
    CHECK(cuda_loss == doctest::Approx(cpu_loss).epsilon(1e-9));
    STRATA_CHECK_CLOSE("dlogits", cuda_grad, cpu_grad, tolerance);
  }
  const std::vector<std::int32_t> bad{0, 1, 10, 2, -1, 3};
  CHECK_THROWS_AS(run((st::cpu*)nullptr, 0.0, 1.0, bad), std::out_of_range);
  CHECK_THROWS_AS(run((st::cuda*)nullptr, 0.0, 1.0, bad), std::out_of_range);
}

TEST_CASE("backend column: the mean squared error, mean and sum, and its target check") {
  constexpr std::size_t batch = 5;
  using S = st::Shape<2, 3, 3>;
  const auto predictions = random_values(batch * S::size, 16, -3.f, 3.f);
  const auto targets = random_values(batch * S::size, 17, -3.f, 3.f);
  const auto run = [&]<class Backend>(Backend*, st::Reduction reduction,
                                      const std::vector<float>& with) {
    const auto exec = st::kernels<Backend>::make_exec();
    Staged<Backend> x(exec, predictions), grad(predictions.size());
    const st::Output<S, float, Backend> output{x.data(), grad.data(), batch, 0};
    const double loss = st::mse_loss(output, with, {.reduction = reduction}).value;
    return std::pair{loss, grad.read(exec)};
  };
  for (const st::Reduction reduction : {st::Reduction::mean, st::Reduction::sum}) {
    INFO((reduction == st::Reduction::mean ? "mean" : "sum"));
    const auto [cpu_loss, cpu_grad] = run((st::cpu*)nullptr, reduction, targets);
    const auto [cuda_loss, cuda_grad] = run((st::cuda*)nullptr, reduction, targets);
    // Both sum the same doubles in the same order.
    CHECK(cuda_loss == cpu_loss);
    STRATA_CHECK_CLOSE("dpredictions", cuda_grad, cpu_grad, tolerance);
  }
  const std::vector<float> short_targets(targets.size() - 1);
  CHECK_THROWS_AS(run((st::cpu*)nullptr, st::Reduction::mean, short_targets),
                  std::invalid_argument);
  CHECK_THROWS_AS(run((st::cuda*)nullptr, st::Reduction::mean, short_targets),
                  std::invalid_argument);
}

TEST_CASE("backend column: an optimizer refuses another backend's parameters") {
  st::Model<st::models::SimpleCNN<>, st::cuda> model;
  const std::span<st::Parameter> plain = model.parameters();
  CHECK_THROWS_WITH_AS(st::SGD(plain, {.lr = 0.1f}), doctest::Contains("lives on backend cuda"),
                       std::invalid_argument);
  CHECK_NOTHROW(st::SGD(model.parameters(), {.lr = 0.1f}));
}

TEST_CASE("backend column: a steady training step of a CUDA model allocates nothing") {
  using Net = st::models::SimpleCNN<>;
  constexpr std::size_t batch = 16;
  const auto x = random_values(batch * Net::input_shape::size, 21);
  std::vector<std::int32_t> labels(batch);
  for (std::size_t n = 0; n < batch; ++n) labels[n] = static_cast<std::int32_t>(n % 10);
  const auto steady = [&](auto& model, auto& optimizer) {
#if STRATA_CUDA_ON_DEVICE
    const auto steps = stt::steady_step_allocations(
        model, optimizer, x, labels, [] { return st::backend::cuda::device_allocations().load(); });
#else
    const auto steps = stt::steady_step_allocations(model, optimizer, x, labels);
#endif
    CHECK(std::isfinite(steps.last_loss));
    // Host-run, device buffers are host memory, so the host counter sees both kinds.
    CHECK(steps.host_allocations == 0);
    CHECK(steps.device_allocations == 0);
  };
  SUBCASE("Adam") {
    st::Model<Net, st::cuda> model{st::seed{3}};
    st::Adam adam(model.parameters(), {.lr = 1e-3f});
    steady(model, adam);
  }
  SUBCASE("SGD with momentum") {
    st::Model<Net, st::cuda> model{st::seed{3}};
    st::SGD sgd(model.parameters(), {.lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-4f});
    steady(model, sgd);
  }
}

namespace {

std::filesystem::path scratch_file(const char* name) {
  return std::filesystem::temp_directory_path() /
         ("strata_backend_io_" + std::to_string(::getpid()) + "_" + name);
}

// Two models and their optimizers with different states after a few steps.
template <class M, class Optimizer>
void train_a_little(M& model, Optimizer& optimizer, std::uint64_t seed) {
  using Net = typename M::network;
  const auto x = random_values(4 * Net::input_shape::size, seed);
  const std::vector<std::int32_t> labels{1, 2, 3, 4};
  for (int i = 0; i < 2; ++i) {
    model.backward(st::cross_entropy(model.forward(x), labels));
    optimizer.step();
  }
}

}  // namespace

TEST_CASE(
    "backend column: checkpoints, safetensors and copy_matching move state between backends") {
  using Net = st::models::SimpleCNN<>;
  st::Model<Net, st::cuda> cuda_model{st::seed{5}};
  st::Model<Net, st::cpu> cpu_model{st::seed{6}};
  st::Adam cuda_adam(cuda_model.parameters(), {.lr = 1e-2f});
  st::Adam cpu_adam(cpu_model.parameters(), {.lr = 1e-2f});
  train_a_little(cuda_model, cuda_adam, 31);
  train_a_little(cpu_model, cpu_adam, 32);
  REQUIRE(cuda_model.read_parameters() != cpu_model.read_parameters());
  const auto state = [](auto& optimizer) {
    return std::pair{optimizer.state().read_tensor(0), optimizer.state().read_tensor(1)};
  };

  SUBCASE("a checkpoint with optimizer state, CUDA to CPU and back") {
    const auto file = scratch_file("cuda.ckpt");
    st::save_checkpoint(file, cuda_model, cuda_adam);
    st::load_checkpoint(file, cpu_model, cpu_adam);
    CHECK(cpu_model.read_parameters() == cuda_model.read_parameters());
    CHECK(cpu_model.read_buffers() == cuda_model.read_buffers());
    CHECK(state(cpu_adam) == state(cuda_adam));
    CHECK(cpu_adam.steps() == cuda_adam.steps());
    // And a CPU checkpoint into the CUDA model, after the CPU model moved on.
    train_a_little(cpu_model, cpu_adam, 33);
    st::save_checkpoint(file, cpu_model, cpu_adam);
    st::load_checkpoint(file, cuda_model, cuda_adam);
    CHECK(cuda_model.read_parameters() == cpu_model.read_parameters());
    CHECK(state(cuda_adam) == state(cpu_adam));
    std::filesystem::remove(file);
  }
  SUBCASE("safetensors from a CUDA model, and a refused load that leaves it unchanged") {
#if !STRATA_TEST_SAFETENSORS
    MESSAGE("skipped: safetensors needs nlohmann-json (Debian: nlohmann-json3-dev)");
#else
    const auto file = scratch_file("cuda.safetensors");
    st::save_safetensors(file, cuda_model);
    st::load_safetensors(file, cpu_model);
    CHECK(cpu_model.read_parameters() == cuda_model.read_parameters());
    CHECK(cpu_model.read_buffers() == cuda_model.read_buffers());
    st::Model<st::models::ResNet18<10, st::Input<1, 28, 28>>, st::cpu> other;
    st::save_safetensors(file, other);
    const auto before = cuda_model.read_parameters();
    CHECK_THROWS_AS(st::load_safetensors(file, cuda_model), st::SafetensorsError);
    CHECK(cuda_model.read_parameters() == before);
    std::filesystem::remove(file);
#endif
  }
  SUBCASE("copy_matching from a CPU model into a CUDA one") {
    const st::CopyReport report = st::copy_matching(cpu_model, cuda_model);
    CHECK(report.kept.empty());
    CHECK(cuda_model.read_parameters() == cpu_model.read_parameters());
  }
  SUBCASE("a CUDA model's filters and feature maps, read through the host") {
    const auto x = random_values(2 * Net::input_shape::size, 34);
    cpu_model.write_parameters(cuda_model.read_parameters());
    cuda_model.forward(x);
    cpu_model.forward(x);
    const std::string_view first = cuda_model.parameters()[0].name;
    CHECK(st::image::filters(cuda_model, first).pixels ==
          st::image::filters(cpu_model.parameters()[0]).pixels);
    CHECK(st::image::feature_maps(cuda_model, 0).pixels ==
          st::image::feature_maps(cpu_model, 0).pixels);
  }
}
