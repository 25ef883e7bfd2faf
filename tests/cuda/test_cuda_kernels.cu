// Every kernel of the CUDA backend against the CPU backend's kernel of the same name, on the
// same random data, to float tolerance. Without a CUDA device the program says so and exits
// with 77, which ctest reports as skipped (SKIP_RETURN_CODE in CMakeLists.txt).
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
#include "strata/backend/cpu/conv.hpp"
#include "strata/backend/cpu/elementwise.hpp"
#include "strata/backend/cpu/normalization.hpp"
#include "strata/backend/cpu/pool.hpp"
#include "strata/backend/cuda/conv.cuh"
#include "strata/backend/cuda/elementwise.cuh"
#include "strata/backend/cuda/loss.cuh"
#include "strata/backend/cuda/memory.cuh"
#include "strata/backend/cuda/normalization.cuh"
#include "strata/backend/cuda/optim.cuh"
#include "strata/backend/cuda/pool.cuh"
#include "strata/train/loss.hpp"
#include "strata/train/optim.hpp"

namespace {

namespace st = strata;
namespace cpu = strata::backend::cpu;
namespace gpu = strata::backend::cuda;
using strata::backend::ConvGeometry;
using strata::backend::NormGeometry;
using strata::backend::PoolGeometry;

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

template <ConvGeometry G>
void check_conv(const std::string& name, std::size_t batch) {
  INFO("convolution " << name);
  constexpr std::size_t param_count = G.weight_size() + (G.bias ? G.out_channels : 0);
  const std::size_t in_count = batch * G.in_channels * G.in_pixels();
  const std::size_t out_count = batch * G.out_channels * G.out_pixels();
  const auto params = random_values(param_count, 1);
  const auto x = random_values(in_count, 2);
  const auto dy = random_values(out_count, 3);

  std::vector<float> y(out_count), dx(in_count), grads(param_count);
  std::vector<float> scratch(cpu::conv_scratch_size<G>(1));
  st::Ctx<float> ctx;
  ctx.params = params.data();
  ctx.grads = grads.data();
  ctx.scratch = scratch.data();
  ctx.batch = batch;
  cpu::conv2d_forward<G>(ctx, x.data(), y.data());
  cpu::conv2d_backward<G>(ctx, x.data(), dy.data(), dx.data());

  const gpu::Stream stream;
  const gpu::Blas blas(stream.get());
  auto d_params = upload(params), d_x = upload(x), d_dy = upload(dy);
  gpu::DeviceBuffer<float> d_y(out_count), d_dx(in_count), d_grads(param_count),
      d_scratch(gpu::conv_scratch_size<G>());
  gpu::conv2d_forward<G>(blas, batch, d_params.data(), d_x.data(), d_y.data(), d_scratch.data());
  gpu::conv2d_backward<G>(blas, batch, d_params.data(), d_x.data(), d_dy.data(), d_dx.data(),
                          d_grads.data(), d_scratch.data());
  check_close(download(d_y), y, "y");
  check_close(download(d_dx), dx, "dx");
  check_close(download(d_grads), grads, "dweight, dbias");
}

// Small integers make ties in most windows; NaNs test that a NaN wins and its gradient goes to
// the last NaN of a window.
std::vector<float> pool_input(std::size_t count, bool with_nan) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> dist(-3, 3);
  std::vector<float> v(count);
  for (float& x : v) x = static_cast<float>(dist(rng));
  if (with_nan)
    for (std::size_t i = 5; i < count; i += 37) v[i] = std::numeric_limits<float>::quiet_NaN();
  return v;
}

template <PoolGeometry G>
void check_max_pool(const std::string& name, bool with_nan) {
  INFO("max pooling " << name << (with_nan ? " with NaN" : ""));
  constexpr std::size_t batch = 2;
  const auto x = pool_input(batch * G.channels * G.in_pixels(), with_nan);
  const auto dy = random_values(batch * G.channels * G.out_pixels(), 5);
  std::vector<float> y(dy.size()), dx(x.size()), saved(batch * cpu::max_pool_saved_per_sample<G>());
  cpu::max_pool_forward<G>(1, batch, x.data(), y.data(), saved.data());
  cpu::max_pool_backward<G>(1, batch, x.data(), saved.data(), dy.data(), dx.data());

  auto d_x = upload(x), d_dy = upload(dy);
  gpu::DeviceBuffer<float> d_y(y.size()), d_dx(dx.size());
  gpu::max_pool_forward<G>(nullptr, batch, d_x.data(), d_y.data());
  gpu::max_pool_backward<G>(nullptr, batch, d_x.data(), d_dy.data(), d_dx.data());
  check_close(download(d_y), y, "y");
  check_close(download(d_dx), dx, "dx");
}

template <PoolGeometry G>
void check_avg_pool(const std::string& name) {
  INFO("average pooling " << name);
  constexpr std::size_t batch = 2;
  const auto x = random_values(batch * G.channels * G.in_pixels(), 6);
  const auto dy = random_values(batch * G.channels * G.out_pixels(), 7);
  std::vector<float> y(dy.size()), dx(x.size());
  cpu::avg_pool_forward<G>(1, batch, x.data(), y.data());
  cpu::avg_pool_backward<G>(1, batch, dy.data(), dx.data());

  auto d_x = upload(x), d_dy = upload(dy);
  gpu::DeviceBuffer<float> d_y(y.size()), d_dx(dx.size());
  gpu::avg_pool_forward<G>(nullptr, batch, d_x.data(), d_y.data());
  gpu::avg_pool_backward<G>(nullptr, batch, d_dy.data(), d_dx.data());
  check_close(download(d_y), y, "y");
  check_close(download(d_dx), dx, "dx");
}

template <NormGeometry G>
void check_batchnorm(const std::string& name, std::size_t batch) {
  INFO("batch normalisation " << name);
  constexpr double eps = 1e-5, momentum = 0.1;
  constexpr std::size_t C = G.channels;
  // An offset mean, so that a kernel that cancels (x*s - mean*s) would be caught.
  const auto x = random_values(batch * G.sample(), 8, 2.0f, 4.0f);
  const auto dy = random_values(x.size(), 9);
  const auto gamma = random_values(C, 10, 0.5f, 1.5f), beta = random_values(C, 11);
  const auto running_init = random_values(2 * C, 12, 0.5f, 1.0f);  // [mean | var]

  std::vector<float> y(x.size()), dx(x.size()), y_eval(x.size()), dx_eval(x.size());
  std::vector<float> saved(3 * C), running = running_init, dgamma(C), dbeta(C), dgamma_eval(C),
                                   dbeta_eval(C);
  cpu::batchnorm_forward_train<G>(1, batch, x.data(), y.data(), gamma.data(), beta.data(),
                                  running.data(), running.data() + C, saved.data(), eps, momentum);
  cpu::batchnorm_backward<G>(
      1, batch, true, x.data(), dy.data(), dx.data(), gamma.data(), dgamma.data(), dbeta.data(),
      [&](std::size_t c) {
        return std::pair{double(saved[c]) + double(saved[C + c]), double(saved[2 * C + c])};
      });
  cpu::batchnorm_forward_eval<G>(1, batch, x.data(), y_eval.data(), gamma.data(), beta.data(),
                                 running.data(), running.data() + C, eps);
  cpu::batchnorm_backward<G>(
      1, batch, false, x.data(), dy.data(), dx_eval.data(), gamma.data(), dgamma_eval.data(),
      dbeta_eval.data(), [&](std::size_t c) {
        return std::pair{double(running[c]), 1.0 / std::sqrt(double(running[C + c]) + eps)};
      });

  auto d_x = upload(x), d_dy = upload(dy), d_gamma = upload(gamma), d_beta = upload(beta),
       d_running = upload(running_init);
  gpu::DeviceBuffer<float> d_y(x.size()), d_dx(x.size()), d_saved(3 * C), d_dgamma(C), d_dbeta(C);
  gpu::batchnorm_forward_train<G>(nullptr, batch, d_x.data(), d_y.data(), d_gamma.data(),
                                  d_beta.data(), d_running.data(), d_running.data() + C,
                                  d_saved.data(), eps, momentum);
  gpu::batchnorm_backward<G>(nullptr, batch, true, d_x.data(), d_dy.data(), d_dx.data(),
                             d_gamma.data(), d_dgamma.data(), d_dbeta.data(), d_saved.data(),
                             d_running.data(), eps);
  check_close(download(d_y), y, "train y");
  check_close(download(d_saved), saved, "saved mean (hi, lo), 1/std");
  check_close(download(d_running), running, "running mean, var");
  check_close(download(d_dx), dx, "train dx");
  check_close(download(d_dgamma), dgamma, "train dgamma");
  check_close(download(d_dbeta), dbeta, "train dbeta");

  gpu::batchnorm_forward_eval<G>(nullptr, batch, d_x.data(), d_y.data(), d_gamma.data(),
                                 d_beta.data(), d_running.data(), d_running.data() + C, eps);
  gpu::batchnorm_backward<G>(nullptr, batch, false, d_x.data(), d_dy.data(), d_dx.data(),
                             d_gamma.data(), d_dgamma.data(), d_dbeta.data(), d_saved.data(),
                             d_running.data(), eps);
  check_close(download(d_y), y_eval, "eval y");
  check_close(download(d_dx), dx_eval, "eval dx");
  check_close(download(d_dgamma), dgamma_eval, "eval dgamma");
  check_close(download(d_dbeta), dbeta_eval, "eval dbeta");
}

using CpuForward = void (*)(std::size_t, std::size_t, const float*, float*);
using CpuBackward = void (*)(std::size_t, std::size_t, const float*, const float*, float*);
using GpuForward = void (*)(cudaStream_t, std::size_t, const float*, float*);
using GpuBackward = void (*)(cudaStream_t, std::size_t, const float*, const float*, float*);

// backward_from_input: the backward reads x (SiLU) rather than y.
void check_activation(const std::string& name, CpuForward cpu_forward, CpuBackward cpu_backward,
                      GpuForward gpu_forward, GpuBackward gpu_backward, bool backward_from_input) {
  INFO("activation " << name);
  // [-8, 8] covers both of ReLU6's kinks and Sigmoid's and Tanh's saturation.
  auto x = random_values(4099, 13, -8.0f, 8.0f);
  x[0] = 0.0f;
  x[1] = 6.0f;
  const auto dy = random_values(x.size(), 14);
  std::vector<float> y(x.size()), dx(x.size());
  cpu_forward(1, x.size(), x.data(), y.data());
  cpu_backward(1, x.size(), backward_from_input ? x.data() : y.data(), dy.data(), dx.data());

  auto d_x = upload(x), d_dy = upload(dy);
  gpu::DeviceBuffer<float> d_y(x.size()), d_dx(x.size());
  gpu_forward(nullptr, x.size(), d_x.data(), d_y.data());
  gpu_backward(nullptr, x.size(), backward_from_input ? d_x.data() : d_y.data(), d_dy.data(),
               d_dx.data());
  check_close(download(d_y), y, "y");
  check_close(download(d_dx), dx, "dx");
}

}  // namespace

TEST_CASE("convolution: forward, input, weight and bias gradients as the CPU backend") {
  // in_channels, H, W, out_channels, Kh, Kw, stride h/w, pad h/w, dilation h/w, groups, bias
  check_conv<ConvGeometry{3, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, true}>("3x3 pad 1", 3);
  check_conv<ConvGeometry{4, 10, 11, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, true}>("3x3 stride 2", 3);
  check_conv<ConvGeometry{3, 12, 12, 5, 7, 7, 2, 2, 3, 3, 1, 1, 1, false}>("7x7 stride 2", 2);
  check_conv<ConvGeometry{4, 7, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, false}>("2 groups", 3);
  check_conv<ConvGeometry{6, 8, 8, 6, 3, 3, 1, 1, 2, 2, 2, 2, 6, true}>("depthwise dilated", 2);
  check_conv<ConvGeometry{4, 6, 9, 5, 1, 7, 1, 1, 0, 3, 1, 1, 1, true}>("1x7", 3);
  check_conv<ConvGeometry{8, 5, 5, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, true}>("1x1 (no im2col)", 3);
  check_conv<ConvGeometry{8, 6, 6, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1, false}>("1x1 stride 2", 2);
}

TEST_CASE("max pooling: PyTorch's tie and NaN rules as the CPU backend") {
  // channels, H, W, Kh, Kw, stride h/w, pad h/w, ceil mode
  for (const bool nan : {false, true}) {
    check_max_pool<PoolGeometry{3, 8, 8, 2, 2, 2, 2, 0, 0, false}>("2x2/2", nan);
    check_max_pool<PoolGeometry{3, 13, 11, 3, 3, 2, 2, 1, 1, false}>("3x3/2 pad 1", nan);
    check_max_pool<PoolGeometry{2, 14, 13, 3, 3, 2, 2, 0, 0, true}>("3x3/2 ceil mode", nan);
  }
}

TEST_CASE("average pooling: count_include_pad as the CPU backend") {
  check_avg_pool<PoolGeometry{3, 8, 8, 2, 2, 2, 2, 0, 0, false}>("2x2/2");
  check_avg_pool<PoolGeometry{3, 9, 7, 3, 3, 1, 1, 1, 1, false}>("3x3/1 pad 1");
  check_avg_pool<PoolGeometry{2, 9, 9, 3, 3, 2, 2, 1, 1, true}>("3x3/2 pad 1 ceil mode");
}

TEST_CASE("batch normalisation: train, eval and backward as the CPU backend") {
  check_batchnorm<NormGeometry{5, 36}>("5 channels of 6x6", 4);
  check_batchnorm<NormGeometry{7, 1}>("flat, 7 features", 9);
  check_batchnorm<NormGeometry{3, 700}>("more elements per channel than threads", 3);
}

TEST_CASE("activations: forward and backward as the CPU backend") {
  check_activation("ReLU", cpu::relu_forward<float>, cpu::relu_backward<float>,
                   gpu::relu_forward<float>, gpu::relu_backward<float>, false);
  check_activation("ReLU6", cpu::relu6_forward<float>, cpu::relu6_backward<float>,
                   gpu::relu6_forward<float>, gpu::relu6_backward<float>, false);
  check_activation("Sigmoid", cpu::sigmoid_forward<float>, cpu::sigmoid_backward<float>,
                   gpu::sigmoid_forward<float>, gpu::sigmoid_backward<float>, false);
  check_activation("Tanh", cpu::tanh_forward<float>, cpu::tanh_backward<float>,
                   gpu::tanh_forward<float>, gpu::tanh_backward<float>, false);
  check_activation("SiLU", cpu::silu_forward<float>, cpu::silu_backward<float>,
                   gpu::silu_forward<float>, gpu::silu_backward<float>, true);
}

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
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: the GPU tests are skipped (%s)\n",
                status != cudaSuccess ? cudaGetErrorString(status) : "none found");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
