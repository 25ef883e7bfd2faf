// kernels<cuda>: the CUDA backend behind the kernel interface (backend/kernels.hpp). Every
// operation is a Thrust algorithm over a host-and-device functor (functors.hpp), products go
// through the matrix-product seam (device.hpp), so these sources run on the GPU when nvcc
// builds them and on Thrust's OpenMP system when g++ does (host-run, what CI tests).
//
// Each functor computes one output element from its inputs ("gather"), never adding into an
// element that another thread also writes: no atomics, and results that do not depend on the
// order in which threads run.
#pragma once

#include <thrust/functional.h>
#include <thrust/transform.h>

#include <cstddef>
#include <cstdint>

#include "strata/backend/cuda/device.hpp"
#include "strata/backend/cuda/functors.hpp"
#include "strata/backend/geometry.hpp"
#include "strata/backend/kernels.hpp"

namespace strata {

struct cuda {
  static constexpr const char* name = "cuda";
};

template <>
struct kernels<cuda> {
  using provides =
      kernel_ops<op::elementwise, op::gemm, op::conv2d, op::max_pool, op::avg_pool,
                 op::adaptive_avg_pool, op::batchnorm, op::lrn, op::zero_pad, op::random_mask>;

  using exec = backend::cuda::Exec;
  static exec make_exec() { return backend::cuda::make_exec(); }
  // Scratch does not grow with threads on a GPU.
  static std::size_t workers(const exec&) { return 1; }

  template <class T>
  using buffer = backend::cuda::Buffer<T>;
  struct pass_scope {};

  // Device memory is never read by the host directly, also host-run, where it could be: the
  // staging paths (Output::read, the I/O of a model) then run in CI as they do on a GPU.
  static constexpr bool host_memory = false;

  template <class T>
  static void upload(const exec& e, std::size_t count, const T* host, T* data) {
    backend::cuda::upload(e, count, host, data);
  }
  template <class T>
  static void download(const exec& e, std::size_t count, const T* data, T* host) {
    backend::cuda::download(e, count, data, host);
  }

  // --- op::elementwise ---
  template <class T>
  static void copy(const exec& e, std::size_t count, const T* from, T* to) {
    if (count != 0 && from != to) thrust::copy_n(backend::cuda::policy(e), from, count, to);
  }
  template <class T>
  static void add(const exec& e, std::size_t count, const T* a, const T* b, T* out) {
    thrust::transform(backend::cuda::policy(e), a, a + count, b, out, thrust::plus<T>());
  }
  template <class T>
  static void multiply(const exec& e, std::size_t count, const T* a, const T* b, T* out) {
    thrust::transform(backend::cuda::policy(e), a, a + count, b, out, thrust::multiplies<T>());
  }
  template <class T>
  static void fill(const exec& e, std::size_t count, T value, T* out) {
    if (count != 0) thrust::fill_n(backend::cuda::policy(e), out, count, value);
  }
  template <class Act, class T>
  static void activation_forward(const exec& e, std::size_t count, const T* x, T* y) {
    backend::cuda::for_each_index(e, count, backend::cuda::ActivationForward<Act, T>{x, y});
  }
  template <class Act, class T>
  static void activation_backward(const exec& e, std::size_t count, const T* x, const T* y,
                                  const T* dy, T* dx) {
    backend::cuda::for_each_index(e, count,
                                  backend::cuda::ActivationBackward<Act, T>{x, y, dy, dx});
  }
  template <class T>
  static void softmax_forward(const exec& e, std::size_t rows, std::size_t features, const T* x,
                              T* y) {
    backend::cuda::for_each_index(e, rows, backend::cuda::SoftmaxRow<T>{features, x, y});
  }
  template <class T>
  static void softmax_backward(const exec& e, std::size_t rows, std::size_t features, const T* y,
                               const T* dy, T* dx) {
    backend::cuda::for_each_index(e, rows,
                                  backend::cuda::SoftmaxBackwardRow<T>{features, y, dy, dx});
  }
  template <class T>
  static void scale_planes(const exec& e, std::size_t planes, std::size_t plane, const T* x,
                           const T* factors, const T* addend, T* y) {
    backend::cuda::for_each_index(e, planes * plane,
                                  backend::cuda::ScalePlanes<T>{plane, x, factors, addend, y});
  }
  template <class T>
  static void plane_dots(const exec& e, std::size_t planes, std::size_t plane, const T* a,
                         const T* b, T* out) {
    backend::cuda::for_each_index(e, planes, backend::cuda::PlaneDot<T>{plane, a, b, out});
  }
  template <class T>
  static void copy_blocks(const exec& e, std::size_t blocks, std::size_t width, const T* from,
                          std::size_t from_stride, T* to, std::size_t to_stride) {
    backend::cuda::for_each_index(
        e, blocks * width, backend::cuda::CopyBlocks<T>{width, from, from_stride, to, to_stride});
  }
  template <backend::PadGeometry G, class T>
  static void zero_pad_forward(const exec& e, std::size_t planes, const T* x, T* y) {
    backend::cuda::for_each_index(e, planes * G.out_pixels(),
                                  backend::cuda::ZeroPadForward<G, T>{x, y});
  }
  template <backend::PadGeometry G, class T>
  static void zero_pad_backward(const exec& e, std::size_t planes, const T* dy, T* dx) {
    backend::cuda::for_each_index(e, planes * G.in_pixels(),
                                  backend::cuda::ZeroPadBackward<G, T>{dy, dx});
  }
  template <class T>
  static void add_row_bias(const exec& e, std::size_t rows, std::size_t columns, const T* bias,
                           T* y) {
    backend::cuda::for_each_index(e, rows * columns,
                                  backend::cuda::AddRowBias<T>{columns, bias, y});
  }
  template <class T>
  static void sum_rows(const exec& e, std::size_t rows, std::size_t columns, const T* x, T* out) {
    backend::cuda::for_each_index(e, columns, backend::cuda::SumRows<T>{rows, columns, x, out});
  }

  // Softmax cross-entropy, one thread per row, then one thread summing the rows in order (a
  // batch is small, and thrust::reduce would allocate its temporary storage on every call).
  // Labels (host memory, already checked) go to the device through a staging buffer that grows
  // once, to the largest batch. Waits for the stream, since the loss is returned to the host.
  template <class T>
  static double cross_entropy(const exec& e, std::size_t batch, std::size_t classes,
                              const T* logits, const std::int32_t* labels, double label_smoothing,
                              double weight, T* grad) {
    thread_local buffer<std::int32_t> device_labels;
    thread_local buffer<double> losses;  // one per row, then their sum
    device_labels.resize(batch);
    losses.resize(batch + 1);
    upload(e, batch, labels, device_labels.data());
    namespace k = backend::cuda;
    k::for_each_index(e, batch,
                      k::CrossEntropyRow<T>{classes, batch, logits, device_labels.data(),
                                            label_smoothing, weight, grad, losses.data()});
    k::for_each_index(e, 1, k::SumInOrder{batch, losses.data(), losses.data() + batch});
    double total = 0;
    download(e, 1, losses.data() + batch, &total);
    return weight * total / double(batch);
  }

  // Squared error, one thread per element, summed in order by one thread as cross_entropy's
  // rows are, so that the value equals the CPU's. Targets (host memory) go through a staging
  // buffer that grows once, to the largest output.
  template <class T>
  static double mse_loss(const exec& e, std::size_t count, const T* predictions, const T* targets,
                         double scale, T* grad) {
    thread_local buffer<T> device_targets;
    thread_local buffer<double> errors;  // one per element, then their sum
    device_targets.resize(count);
    errors.resize(count + 1);
    upload(e, count, targets, device_targets.data());
    namespace k = backend::cuda;
    k::for_each_index(
        e, count,
        k::SquaredErrorElement<T>{predictions, device_targets.data(), scale, grad, errors.data()});
    k::for_each_index(e, 1, k::SumInOrder{count, errors.data(), errors.data() + count});
    double total = 0;
    download(e, 1, errors.data() + count, &total);
    return scale * total;
  }

  static void sgd_step(const exec& e, std::size_t count, float* value, const float* grad,
                       float* momentum_buffer, backend::SgdStep step) {
    backend::cuda::for_each_index(e, count,
                                  backend::cuda::SgdElement{value, grad, momentum_buffer, step});
  }
  static void adam_step(const exec& e, std::size_t count, float* value, const float* grad, float* m,
                        float* v, backend::AdamStep step) {
    backend::cuda::for_each_index(e, count, backend::cuda::AdamElement{value, grad, m, v, step});
  }

  // --- op::gemm ---
  template <class T>
  static void gemm(const exec& e, backend::Op op_a, backend::Op op_b, std::size_t m, std::size_t n,
                   std::size_t k, T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb,
                   T beta, T* c, std::size_t ldc) {
    backend::cuda::gemm(e, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  // --- op::conv2d: im2col and one product per image and group; depthwise directly ---
  template <backend::ConvGeometry G>
  static constexpr std::size_t conv2d_scratch_size(std::size_t, std::size_t) {
    // The column matrix of one image's group, and in backward its gradient.
    return backend::cuda::depthwise<G>() ? 0 : 2 * G.patch() * G.out_pixels();
  }
  template <backend::ConvGeometry G, class T>
  static void conv2d_forward(const exec& e, std::size_t batch, const T* params, const T* x, T* y,
                             T* scratch) {
    namespace k = backend::cuda;
    constexpr std::size_t pixels = G.out_pixels(), in_size = G.in_channels * G.in_pixels();
    constexpr std::size_t out_size = G.out_channels * pixels;
    const T* bias = G.bias ? params + G.weight_size() : nullptr;
    if constexpr (k::depthwise<G>()) {
      k::for_each_index(e, batch * out_size, k::DepthwiseForward<G, T>{params, bias, x, y});
      return;
    }
    T* columns = scratch;  // [patch, Ho*Wo]
    for (std::size_t n = 0; n < batch; ++n)
      for (std::size_t g = 0; g < G.groups; ++g) {
        k::for_each_index(e, G.patch() * pixels, k::Im2col<G, T>{x + n * in_size, g, columns});
        // y_g[Cout/g, Ho*Wo] = W_g[Cout/g, patch] * columns
        k::gemm(e, backend::Op::none, backend::Op::none, G.out_per_group(), pixels, G.patch(), T(1),
                params + g * G.out_per_group() * G.patch(), G.patch(), columns, pixels, T(0),
                y + n * out_size + g * G.out_per_group() * pixels, pixels);
      }
    if constexpr (G.bias)
      k::for_each_index(e, batch * out_size, k::AddChannelBias<T>{G.out_channels, pixels, bias, y});
  }
  template <backend::ConvGeometry G, class T>
  static void conv2d_backward(const exec& e, std::size_t batch, const T* params, const T* x,
                              const T* dy, T* dx, T* grads, T* scratch) {
    namespace k = backend::cuda;
    constexpr std::size_t pixels = G.out_pixels(), in_size = G.in_channels * G.in_pixels();
    constexpr std::size_t out_size = G.out_channels * pixels;
    if constexpr (G.bias)
      k::for_each_index(
          e, G.out_channels,
          k::ChannelSums<T>{batch, G.out_channels, pixels, dy, grads + G.weight_size()});
    if constexpr (k::depthwise<G>()) {
      k::for_each_index(e, G.weight_size(), k::DepthwiseWeightGrad<G, T>{batch, x, dy, grads});
      if (dx) k::for_each_index(e, batch * in_size, k::DepthwiseInputGrad<G, T>{params, dy, dx});
      return;
    }
    T* columns = scratch;                            // [patch, Ho*Wo]
    T* column_grads = scratch + G.patch() * pixels;  // [patch, Ho*Wo]
    for (std::size_t n = 0; n < batch; ++n)
      for (std::size_t g = 0; g < G.groups; ++g) {
        const T* group_dy = dy + n * out_size + g * G.out_per_group() * pixels;
        const T* weight = params + g * G.out_per_group() * G.patch();
        k::for_each_index(e, G.patch() * pixels, k::Im2col<G, T>{x + n * in_size, g, columns});
        // dW_g[Cout/g, patch] (+)= dy_g[Cout/g, Ho*Wo] * columns^T, summed over the batch
        k::gemm(e, backend::Op::none, backend::Op::transpose, G.out_per_group(), G.patch(), pixels,
                T(1), group_dy, pixels, columns, pixels, n == 0 ? T(0) : T(1),
                grads + g * G.out_per_group() * G.patch(), G.patch());
        if (!dx) continue;
        // dcolumns[patch, Ho*Wo] = W_g^T * dy_g, then gathered into dx's channels of group g
        k::gemm(e, backend::Op::transpose, backend::Op::none, G.patch(), pixels, G.out_per_group(),
                T(1), weight, G.patch(), group_dy, pixels, T(0), column_grads, pixels);
        k::for_each_index(e, G.in_per_group() * G.in_pixels(),
                          k::Col2im<G, T>{column_grads, g, dx + n * in_size});
      }
  }

  // --- op::max_pool, op::avg_pool, op::adaptive_avg_pool ---
  template <backend::PoolGeometry G, class T>
  static void max_pool_forward(const exec& e, std::size_t batch, const T* x, T* y, T* saved) {
    backend::cuda::for_each_index(e, batch * G.channels * G.out_pixels(),
                                  backend::cuda::MaxPoolForward<G, T>{x, y, saved});
  }
  template <backend::PoolGeometry G, class T>
  static void max_pool_backward(const exec& e, std::size_t batch, const T* x, const T* saved,
                                const T* dy, T* dx) {
    backend::cuda::for_each_index(e, batch * G.channels * G.in_pixels(),
                                  backend::cuda::MaxPoolBackward<G, T>{x, saved, dy, dx});
  }
  template <backend::PoolGeometry G, class T>
  static void avg_pool_forward(const exec& e, std::size_t batch, const T* x, T* y) {
    backend::cuda::for_each_index(e, batch * G.channels * G.out_pixels(),
                                  backend::cuda::AvgPoolForward<G, T>{x, y});
  }
  template <backend::PoolGeometry G, class T>
  static void avg_pool_backward(const exec& e, std::size_t batch, const T* dy, T* dx) {
    backend::cuda::for_each_index(e, batch * G.channels * G.in_pixels(),
                                  backend::cuda::AvgPoolBackward<G, T>{dy, dx});
  }
  template <backend::AdaptivePoolGeometry G, class T>
  static void adaptive_avg_pool_forward(const exec& e, std::size_t batch, const T* x, T* y) {
    backend::cuda::for_each_index(e, batch * G.channels * G.out_pixels(),
                                  backend::cuda::AdaptivePoolForward<G, T>{x, y});
  }
  template <backend::AdaptivePoolGeometry G, class T>
  static void adaptive_avg_pool_backward(const exec& e, std::size_t batch, const T* dy, T* dx) {
    backend::cuda::for_each_index(e, batch * G.channels * G.in_pixels(),
                                  backend::cuda::AdaptivePoolBackward<G, T>{dy, dx});
  }

  // --- op::batchnorm: one thread per channel for the statistics, one per element after ---
  template <backend::NormGeometry G, class T>
  static void batchnorm_forward_train(const exec& e, std::size_t batch, const T* x, T* y,
                                      const T* gamma, const T* beta, T* running, T* saved,
                                      double eps, double momentum) {
    namespace k = backend::cuda;
    k::for_each_index(e, G.channels,
                      k::BatchNormStatistics<G, T>{batch, x, running, saved, eps, momentum});
    k::for_each_index(e, batch * G.sample(), k::BatchNormAffine<G, T>{x, y, gamma, beta, saved});
  }
  template <backend::NormGeometry G, class T>
  static void batchnorm_forward_eval(const exec& e, std::size_t batch, const T* x, T* y,
                                     const T* gamma, const T* beta, const T* running, double eps) {
    backend::cuda::for_each_index(
        e, batch * G.sample(), backend::cuda::BatchNormEval<G, T>{x, y, gamma, beta, running, eps});
  }
  template <backend::NormGeometry G, class T>
  static void batchnorm_backward(const exec& e, std::size_t batch, bool training, const T* x,
                                 const T* dy, T* dx, const T* gamma, T* grads, const T* saved,
                                 const T* running, double eps) {
    namespace k = backend::cuda;
    k::for_each_index(
        e, G.channels,
        k::BatchNormGradSums<G, T>{batch, training, x, dy, saved, running, eps, grads});
    if (dx)
      k::for_each_index(e, batch * G.sample(),
                        k::BatchNormInputGrad<G, T>{batch, training, x, dy, gamma, grads, saved,
                                                    running, eps, dx});
  }

  // --- op::lrn ---
  template <backend::NormGeometry G, class T>
  static void lrn_forward(const exec& e, std::size_t batch, const backend::LrnConstants& constants,
                          const T* x, T* y, T* saved) {
    backend::cuda::for_each_index(e, batch * G.sample(),
                                  backend::cuda::LrnForward<G, T>{constants, x, y, saved});
  }
  template <backend::NormGeometry G, class T>
  static void lrn_backward(const exec& e, std::size_t batch, const backend::LrnConstants& constants,
                           const T* x, const T* y, const T* dy, const T* saved, T* dx) {
    backend::cuda::for_each_index(e, batch * G.sample(),
                                  backend::cuda::LrnBackward<G, T>{constants, x, y, dy, saved, dx});
  }

  // --- op::random_mask: Philox on the device, keyed on the host as the CPU backend keys it ---
  template <class Generator, class T>
  static void random_mask(const exec& e, Generator& rng, std::size_t count, double drop,
                          T keep_scale, T* mask) {
    backend::cuda::for_each_index(
        e, count,
        backend::cuda::MaskElement<T>{backend::MaskRule(backend::next_mask_key(rng), drop),
                                      keep_scale, mask});
  }
};

}  // namespace strata
