// kernels<cpu>: the CPU backend behind the kernel interface (backend/kernels.hpp), Eigen and
// OpenMP with hand-written AVX-512 kernels where they win. Every function forwards to the
// implementation in this folder; the signatures are the interface's, the same on every backend.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "strata/backend/cpu/conv.hpp"
#include "strata/backend/cpu/elementwise.hpp"
#include "strata/backend/cpu/gemm.hpp"
#include "strata/backend/cpu/memory.hpp"
#include "strata/backend/cpu/normalization.hpp"
#include "strata/backend/cpu/parallel.hpp"
#include "strata/backend/cpu/pool.hpp"
#include "strata/backend/formulas.hpp"
#include "strata/backend/geometry.hpp"
#include "strata/backend/kernels.hpp"

namespace strata {

struct cpu {
  static constexpr const char* name = "cpu";
};

// Number of threads strata's CPU kernels use (default: OpenMP's, usually one per core).
inline void set_threads(std::size_t threads) {
  backend::cpu::set_threads(threads);
}

template <>
struct kernels<cpu> {
  using provides =
      kernel_ops<op::elementwise, op::gemm, op::conv2d, op::max_pool, op::avg_pool,
                 op::adaptive_avg_pool, op::batchnorm, op::lrn, op::zero_pad, op::random_mask>;

  // The execution context: the number of threads a call may use.
  struct exec {
    std::size_t threads = 1;
  };
  static exec make_exec() { return {backend::cpu::max_threads()}; }
  // The worker count that scratch sizes depend on (scratch_size<B>(batch, workers)).
  static std::size_t workers(const exec& e) { return e.threads; }

  // Storage on the backend, allocated once and only grown.
  template <class T>
  using buffer = backend::cpu::AlignedBuffer<T>;
  // Held around a model pass: flush-to-zero and denormals-are-zero (parallel.hpp says why).
  using pass_scope = backend::cpu::DenormalsFlushed;

  // Whether the host may read the backend's memory directly (Output::values, the I/O paths).
  static constexpr bool host_memory = true;
  // Host memory to the backend's and back; on the CPU both are host memory.
  template <class T>
  static void upload(const exec& e, std::size_t count, const T* host, T* data) {
    backend::cpu::copy(e.threads, count, host, data);
  }
  template <class T>
  static void download(const exec& e, std::size_t count, const T* data, T* host) {
    backend::cpu::copy(e.threads, count, data, host);
  }

  // --- op::elementwise ---
  template <class T>
  static void copy(const exec& e, std::size_t count, const T* from, T* to) {
    backend::cpu::copy(e.threads, count, from, to);
  }
  template <class T>
  static void add(const exec& e, std::size_t count, const T* a, const T* b, T* out) {
    backend::cpu::add(e.threads, count, a, b, out);
  }
  template <class T>
  static void multiply(const exec& e, std::size_t count, const T* a, const T* b, T* out) {
    backend::cpu::multiply(e.threads, count, a, b, out);
  }
  template <class T>
  static void fill(const exec& e, std::size_t count, T value, T* out) {
    backend::cpu::fill(e.threads, count, value, out);
  }
  // y = f(x); dx = f'(x) * dy, from x or y, whichever the derivative needs.
  template <class Act, class T>
  static void activation_forward(const exec& e, std::size_t count, const T* x, T* y) {
    namespace k = backend::cpu;
    if constexpr (std::is_same_v<Act, act::relu>) k::relu_forward(e.threads, count, x, y);
    if constexpr (std::is_same_v<Act, act::relu6>) k::relu6_forward(e.threads, count, x, y);
    if constexpr (std::is_same_v<Act, act::silu>) k::silu_forward(e.threads, count, x, y);
    if constexpr (std::is_same_v<Act, act::sigmoid>) k::sigmoid_forward(e.threads, count, x, y);
    if constexpr (std::is_same_v<Act, act::tanh>) k::tanh_forward(e.threads, count, x, y);
    if constexpr (std::is_same_v<Act, act::hardswish>) k::hardswish_forward(e.threads, count, x, y);
    if constexpr (std::is_same_v<Act, act::hardsigmoid>)
      k::hardsigmoid_forward(e.threads, count, x, y);
  }
  template <class Act, class T>
  static void activation_backward(const exec& e, std::size_t count, const T* x, const T* y,
                                  const T* dy, T* dx) {
    namespace k = backend::cpu;
    if constexpr (std::is_same_v<Act, act::relu>) k::relu_backward(e.threads, count, y, dy, dx);
    if constexpr (std::is_same_v<Act, act::relu6>) k::relu6_backward(e.threads, count, y, dy, dx);
    if constexpr (std::is_same_v<Act, act::silu>) k::silu_backward(e.threads, count, x, dy, dx);
    if constexpr (std::is_same_v<Act, act::sigmoid>)
      k::sigmoid_backward(e.threads, count, y, dy, dx);
    if constexpr (std::is_same_v<Act, act::tanh>) k::tanh_backward(e.threads, count, y, dy, dx);
    if constexpr (std::is_same_v<Act, act::hardswish>)
      k::hardswish_backward(e.threads, count, x, dy, dx);
    if constexpr (std::is_same_v<Act, act::hardsigmoid>)
      k::hardsigmoid_backward(e.threads, count, x, dy, dx);
  }
  template <class T>
  static void softmax_forward(const exec& e, std::size_t rows, std::size_t features, const T* x,
                              T* y) {
    backend::cpu::softmax_forward(e.threads, rows, features, x, y);
  }
  template <class T>
  static void softmax_backward(const exec& e, std::size_t rows, std::size_t features, const T* y,
                               const T* dy, T* dx) {
    backend::cpu::softmax_backward(e.threads, rows, features, y, dy, dx);
  }
  template <class T>
  static void scale_planes(const exec& e, std::size_t planes, std::size_t plane, const T* x,
                           const T* factors, const T* addend, T* y) {
    backend::cpu::scale_planes(e.threads, planes, plane, x, factors, addend, y);
  }
  template <class T>
  static void plane_dots(const exec& e, std::size_t planes, std::size_t plane, const T* a,
                         const T* b, T* out) {
    backend::cpu::plane_dots(e.threads, planes, plane, a, b, out);
  }
  template <class T>
  static void copy_blocks(const exec& e, std::size_t blocks, std::size_t width, const T* from,
                          std::size_t from_stride, T* to, std::size_t to_stride) {
    backend::cpu::copy_blocks(e.threads, blocks, width, from, from_stride, to, to_stride);
  }
  template <backend::PadGeometry G, class T>
  static void zero_pad_forward(const exec& e, std::size_t planes, const T* x, T* y) {
    backend::cpu::zero_pad_forward<G>(e.threads, planes, x, y);
  }
  template <backend::PadGeometry G, class T>
  static void zero_pad_backward(const exec& e, std::size_t planes, const T* dy, T* dx) {
    backend::cpu::zero_pad_backward<G>(e.threads, planes, dy, dx);
  }
  template <class T>
  static void add_row_bias(const exec& e, std::size_t rows, std::size_t columns, const T* bias,
                           T* y) {
    backend::cpu::add_row_bias(e.threads, rows, columns, bias, y);
  }
  template <class T>
  static void sum_rows(const exec& e, std::size_t rows, std::size_t columns, const T* x, T* out) {
    backend::cpu::sum_rows(e.threads, rows, columns, x, out);
  }

  // Softmax cross-entropy over rows of logits: writes d(loss)/d(logits) into grad and returns
  // weight times the mean loss. labels: host memory, checked to lie in [0, classes).
  template <class T>
  static double cross_entropy(const exec&, std::size_t batch, std::size_t classes, const T* logits,
                              const std::int32_t* labels, double label_smoothing, double weight,
                              T* grad) {
    double total = 0;
    for (std::size_t n = 0; n < batch; ++n)
      total += backend::cross_entropy_row(logits + n * classes, classes,
                                          static_cast<std::size_t>(labels[n]), label_smoothing,
                                          weight, batch, grad + n * classes);
    return weight * total / double(batch);
  }

  // Squared error summed over count elements times scale: writes d(loss)/d(predictions) into
  // grad. targets: host memory.
  template <class T>
  static double mse_loss(const exec&, std::size_t count, const T* predictions, const T* targets,
                         double scale, T* grad) {
    double total = 0;
    for (std::size_t i = 0; i < count; ++i)
      total += backend::squared_error(predictions[i], targets[i], scale, grad[i]);
    return scale * total;
  }

  // One optimizer step over one parameter tensor of count elements. The settings come by value:
  // a local copy cannot alias the float arrays, so the loop keeps them in registers.
  static void sgd_step(const exec&, std::size_t count, float* value, const float* grad,
                       float* momentum_buffer, backend::SgdStep step) {
    const backend::cpu::DenormalsFlushed flushed;
    for (std::size_t i = 0; i < count; ++i)
      backend::sgd_update(value[i], grad[i], momentum_buffer[i], step);
  }
  static void adam_step(const exec&, std::size_t count, float* value, const float* grad, float* m,
                        float* v, backend::AdamStep step) {
    const backend::cpu::DenormalsFlushed flushed;
    for (std::size_t i = 0; i < count; ++i)
      backend::adam_update(value[i], grad[i], m[i], v[i], step);
  }

  // --- op::gemm: C[m, n] = alpha * op(A) * op(B) + beta * C, row-major ---
  template <class T>
  static void gemm(const exec& e, backend::Op op_a, backend::Op op_b, std::size_t m, std::size_t n,
                   std::size_t k, T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb,
                   T beta, T* c, std::size_t ldc) {
    backend::cpu::gemm_parallel<T>(e.threads, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
                                   ldc);
  }

  // --- op::conv2d: params and grads [weight | bias] in PyTorch's layout ---
  template <backend::ConvGeometry G>
  static constexpr std::size_t conv2d_scratch_size(std::size_t, std::size_t workers) {
    return backend::cpu::conv_scratch_size<G>(workers);
  }
  template <backend::ConvGeometry G, class T>
  static void conv2d_forward(const exec& e, std::size_t batch, const T* params, const T* x, T* y,
                             T* scratch) {
    backend::cpu::conv2d_forward<G>(
        backend::cpu::ConvCall<T>{e.threads, batch, params, nullptr, scratch}, x, y);
  }
  // Overwrites grads; dx may be null (the first layer's input gradient is not needed).
  template <backend::ConvGeometry G, class T>
  static void conv2d_backward(const exec& e, std::size_t batch, const T* params, const T* x,
                              const T* dy, T* dx, T* grads, T* scratch) {
    backend::cpu::conv2d_backward<G>(
        backend::cpu::ConvCall<T>{e.threads, batch, params, grads, scratch}, x, dy, dx);
  }

  // --- op::max_pool, op::avg_pool, op::adaptive_avg_pool ---
  // saved: max_pool_saved_per_sample<G>() per sample in training, null in evaluation.
  template <backend::PoolGeometry G, class T>
  static void max_pool_forward(const exec& e, std::size_t batch, const T* x, T* y, T* saved) {
    backend::cpu::max_pool_forward<G>(e.threads, batch, x, y, saved);
  }
  template <backend::PoolGeometry G, class T>
  static void max_pool_backward(const exec& e, std::size_t batch, const T* x, const T* saved,
                                const T* dy, T* dx) {
    backend::cpu::max_pool_backward<G>(e.threads, batch, x, saved, dy, dx);
  }
  template <backend::PoolGeometry G, class T>
  static void avg_pool_forward(const exec& e, std::size_t batch, const T* x, T* y) {
    backend::cpu::avg_pool_forward<G>(e.threads, batch, x, y);
  }
  template <backend::PoolGeometry G, class T>
  static void avg_pool_backward(const exec& e, std::size_t batch, const T* dy, T* dx) {
    backend::cpu::avg_pool_backward<G>(e.threads, batch, dy, dx);
  }
  template <backend::AdaptivePoolGeometry G, class T>
  static void adaptive_avg_pool_forward(const exec& e, std::size_t batch, const T* x, T* y) {
    backend::cpu::adaptive_avg_pool_forward<G>(e.threads, batch, x, y);
  }
  template <backend::AdaptivePoolGeometry G, class T>
  static void adaptive_avg_pool_backward(const exec& e, std::size_t batch, const T* dy, T* dx) {
    backend::cpu::adaptive_avg_pool_backward<G>(e.threads, batch, dy, dx);
  }

  // --- op::batchnorm: saved [3, C] (batch mean hi, lo, 1/std), running [2, C] (mean, var) ---
  template <backend::NormGeometry G, class T>
  static void batchnorm_forward_train(const exec& e, std::size_t batch, const T* x, T* y,
                                      const T* gamma, const T* beta, T* running, T* saved,
                                      double eps, double momentum) {
    backend::cpu::batchnorm_forward_train<G>(e.threads, batch, x, y, gamma, beta, running,
                                             running + G.channels, saved, eps, momentum);
  }
  template <backend::NormGeometry G, class T>
  static void batchnorm_forward_eval(const exec& e, std::size_t batch, const T* x, T* y,
                                     const T* gamma, const T* beta, const T* running, double eps) {
    backend::cpu::batchnorm_forward_eval<G>(e.threads, batch, x, y, gamma, beta, running,
                                            running + G.channels, eps);
  }
  // Training differentiates through the batch statistics in saved; evaluation treats the
  // running statistics as constants. Overwrites grads ([dgamma | dbeta]); dx may be null.
  template <backend::NormGeometry G, class T>
  static void batchnorm_backward(const exec& e, std::size_t batch, bool training, const T* x,
                                 const T* dy, T* dx, const T* gamma, T* grads, const T* saved,
                                 const T* running, double eps) {
    constexpr std::size_t c_count = G.channels;
    backend::cpu::batchnorm_backward<G>(
        e.threads, batch, training, x, dy, dx, gamma, grads, grads + c_count, [&](std::size_t c) {
          if (training)
            return std::pair{double(saved[c]) + double(saved[c_count + c]),
                             double(saved[2 * c_count + c])};
          return std::pair{double(running[c]), 1.0 / std::sqrt(double(running[c_count + c]) + eps)};
        });
  }

  // --- op::lrn: saved holds the denominator base per element ---
  template <backend::NormGeometry G, class T>
  static void lrn_forward(const exec& e, std::size_t batch, const backend::LrnConstants& constants,
                          const T* x, T* y, T* saved) {
    backend::cpu::lrn_forward<G>(e.threads, batch, constants, x, y, saved);
  }
  template <backend::NormGeometry G, class T>
  static void lrn_backward(const exec& e, std::size_t batch, const backend::LrnConstants& constants,
                           const T* x, const T* y, const T* dy, const T* saved, T* dx) {
    backend::cpu::lrn_backward<G>(e.threads, batch, constants, x, y, dy, saved, dx);
  }

  // --- op::random_mask: mask[i] = keep_scale with probability 1 - drop, else 0 ---
  template <class Generator, class T>
  static void random_mask(const exec&, Generator& rng, std::size_t count, double drop, T keep_scale,
                          T* mask) {
    const backend::MaskRule rule(backend::next_mask_key(rng), drop);
    for (std::size_t i = 0; i < count; ++i) mask[i] = rule.element(i, keep_scale);
  }
};

}  // namespace strata
