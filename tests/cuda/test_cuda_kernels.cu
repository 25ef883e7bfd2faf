// The CUDA backend's kernels that are not yet behind the kernel interface (the loss and the
// optimizer steps) against the CPU's loss.hpp and optim.hpp, on the same random data, to float
// tolerance; the layers' kernels are test_backend_conformance_gpu's. Without a CUDA device the
// program says so and exits with 77, which ctest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "random_values.hpp"
#include "run_on_device.hpp"
#include "strata/backend/cuda/loss.cuh"
#include "strata/backend/cuda/memory.cuh"
#include "strata/backend/cuda/optim.cuh"
#include "strata/train/loss.hpp"
#include "strata/train/optim.hpp"

namespace {

namespace st = strata;
namespace gpu = strata::backend::cuda;

using strata::test::random_values;

// Device copies of host vectors, and the way back; synchronous, since the test compares.
template <class T>
gpu::DeviceBuffer<T> upload(const std::vector<T>& host) {
  gpu::DeviceBuffer<T> device(host.size());
  STRATA_CUDA_CHECK(
      cudaMemcpy(device.data(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return device;
}

template <class T>
std::vector<T> download(const gpu::DeviceBuffer<T>& device) {
  STRATA_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<T> host(device.size());
  STRATA_CUDA_CHECK(
      cudaMemcpy(host.data(), device.data(), host.size() * sizeof(T), cudaMemcpyDeviceToHost));
  return host;
}

// Equal to float tolerance, NaN where the reference has NaN. Reports the first mismatch only,
// so that a wrong kernel does not print thousands of lines.
void check_close(const std::vector<float>& actual, const std::vector<float>& expected,
                 const std::string& what, float tolerance = 1e-4f) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const float a = actual[i], e = expected[i];
    const bool ok =
        std::isnan(e) ? std::isnan(a) : std::abs(a - e) <= tolerance * (1.0f + std::abs(e));
    if (!ok) {
      FAIL_CHECK(what << "[" << i << "]: CUDA " << a << ", CPU " << e);
      return;
    }
  }
}

}  // namespace

TEST_CASE("softmax cross-entropy: loss and gradient as loss.hpp, labels checked") {
  constexpr std::size_t batch = 6, classes = 10;
  const auto logits = random_values(batch * classes, 15, -4.0f, 4.0f);
  const std::vector<std::int32_t> labels{0, 9, 3, 3, 7, 1};
  auto d_logits = upload(logits);
  auto d_labels = upload(labels);
  gpu::DeviceBuffer<float> d_grad(logits.size());
  gpu::DeviceBuffer<double> d_losses(batch);
  for (const auto& [smoothing, weight] : {std::pair{0.0, 1.0}, std::pair{0.1, 0.3}}) {
    INFO("label smoothing " << smoothing << ", weight " << weight);
    std::vector<float> grad(logits.size());
    const double expected = st::softmax_cross_entropy<float>(logits.data(), batch, classes, labels,
                                                             smoothing, grad.data(), weight);
    const double loss =
        gpu::softmax_cross_entropy<float>(nullptr, d_logits.data(), batch, classes, d_labels.data(),
                                          smoothing, d_grad.data(), d_losses.data(), weight);
    CHECK(loss == doctest::Approx(expected).epsilon(1e-9));
    check_close(download(d_grad), grad, "dlogits");
  }
  const auto bad = upload(std::vector<std::int32_t>{0, 1, 10, 2, -1, 3});
  CHECK_THROWS_AS(
      gpu::softmax_cross_entropy<float>(nullptr, d_logits.data(), batch, classes, bad.data(), 0.0,
                                        d_grad.data(), d_losses.data()),
      std::out_of_range);
}

namespace {

// Three steps of a CPU optimizer and of the CUDA step on the same parameter and gradients
// (new ones each step, so that momentum and Adam's moments carry over).
template <class CpuOptimizer, class GpuStep>
void check_optimizer(CpuOptimizer make_cpu, GpuStep gpu_step) {
  constexpr std::size_t count = 1000;
  auto value = random_values(count, 16);
  std::vector<float> grad(count);
  st::Parameter param{.name = "w", .value = value.data(), .grad = grad.data(), .size = count};
  auto optimizer = make_cpu(std::span<st::Parameter>(&param, 1));
  auto d_value = upload(value);
  gpu::DeviceBuffer<float> d_grad(count), d_state0(count), d_state1(count);
  STRATA_CUDA_CHECK(cudaMemset(d_state0.data(), 0, count * sizeof(float)));
  STRATA_CUDA_CHECK(cudaMemset(d_state1.data(), 0, count * sizeof(float)));
  for (std::size_t step = 0; step < 3; ++step) {
    grad = random_values(count, 17 + std::uint64_t(step));
    param.grad = grad.data();
    STRATA_CUDA_CHECK(
        cudaMemcpy(d_grad.data(), grad.data(), count * sizeof(float), cudaMemcpyHostToDevice));
    optimizer.step();
    gpu_step(step, d_value.data(), d_grad.data(), d_state0.data(), d_state1.data());
    INFO("step " << step + 1);
    check_close(download(d_value), value, "parameter", 1e-5f);
  }
}

}  // namespace

TEST_CASE("SGD: momentum, Nesterov and weight decay as optim.hpp") {
  for (const st::SgdOptions o :
       {st::SgdOptions{.lr = 0.1f}, st::SgdOptions{.lr = 0.05f, .momentum = 0.9f},
        st::SgdOptions{.lr = 0.05f, .momentum = 0.9f, .dampening = 0.2f, .weight_decay = 0.01f},
        st::SgdOptions{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-3f, .nesterov = true}}) {
    INFO("momentum " << o.momentum << ", dampening " << o.dampening << ", nesterov " << o.nesterov);
    check_optimizer([&](std::span<st::Parameter> p) { return st::SGD(p, o); },
                    [&](std::size_t step, float* value, const float* grad, float* buffer, float*) {
                      gpu::sgd_step(
                          nullptr, 1000, value, grad, buffer,
                          {o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, step == 0});
                    });
  }
}

TEST_CASE("Adam and AdamW: steps as optim.hpp") {
  const st::AdamOptions o{.lr = 1e-2f, .weight_decay = 0.05f};
  for (const bool decoupled : {false, true}) {
    INFO((decoupled ? "AdamW" : "Adam"));
    const auto gpu_step = [&](std::size_t step, float* value, const float* grad, float* m,
                              float* v) {
      gpu::adam_step(nullptr, 1000, value, grad, m, v,
                     {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, decoupled, double(step + 1)});
    };
    if (decoupled)
      check_optimizer([&](std::span<st::Parameter> p) { return st::AdamW(p, o); }, gpu_step);
    else
      check_optimizer([&](std::span<st::Parameter> p) { return st::Adam(p, o); }, gpu_step);
  }
}

int main(int argc, char** argv) {
  return strata::test::run_on_device(argc, argv);
}
