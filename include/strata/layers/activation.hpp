// Activation layers: shape-preserving, no parameters.
//   ReLU, ReLU6, SiLU, Sigmoid, Tanh: element-wise, on any shape
//   Softmax: over the features of a flat Shape<N> (nn.Softmax(dim=1)), for inference outputs
#pragma once

#include <string>

#include "strata/backend/cpu/elementwise.hpp"
#include "strata/core/layer.hpp"

namespace strata {

namespace detail {

// The bound layer of an element-wise activation; Kernels names the layer and forwards to the
// backend. Backward receives both x and y, so each activation differentiates from whichever
// is cheaper.
template <class Kernels, class In>
struct bound_elementwise : stateless_layer {
  using input_shape = In;
  using output_shape = In;
  static std::string describe() { return Kernels::name; }

  template <class T>
  static void forward(const Ctx<T>& ctx, const T* x, T* y) {
    Kernels::forward(ctx.threads, ctx.batch * In::size, x, y);
  }
  template <class T>
  static void backward(const Ctx<T>& ctx, const T* x, const T* y, const T* dy, T* dx) {
    if (dx) Kernels::backward(ctx.threads, ctx.batch * In::size, x, y, dy, dx);
  }
};

struct relu_kernels {
  static constexpr const char* name = "ReLU";
  template <class T>
  static void forward(std::size_t threads, std::size_t count, const T* x, T* y) {
    backend::cpu::relu_forward(threads, count, x, y);
  }
  template <class T>
  static void backward(std::size_t threads, std::size_t count, const T*, const T* y, const T* dy,
                       T* dx) {
    backend::cpu::relu_backward(threads, count, y, dy, dx);
  }
};

struct relu6_kernels {
  static constexpr const char* name = "ReLU6";
  template <class T>
  static void forward(std::size_t threads, std::size_t count, const T* x, T* y) {
    backend::cpu::relu6_forward(threads, count, x, y);
  }
  template <class T>
  static void backward(std::size_t threads, std::size_t count, const T*, const T* y, const T* dy,
                       T* dx) {
    backend::cpu::relu6_backward(threads, count, y, dy, dx);
  }
};

struct silu_kernels {
  static constexpr const char* name = "SiLU";
  template <class T>
  static void forward(std::size_t threads, std::size_t count, const T* x, T* y) {
    backend::cpu::silu_forward(threads, count, x, y);
  }
  template <class T>
  static void backward(std::size_t threads, std::size_t count, const T* x, const T*, const T* dy,
                       T* dx) {
    backend::cpu::silu_backward(threads, count, x, dy, dx);
  }
};

struct sigmoid_kernels {
  static constexpr const char* name = "Sigmoid";
  template <class T>
  static void forward(std::size_t threads, std::size_t count, const T* x, T* y) {
    backend::cpu::sigmoid_forward(threads, count, x, y);
  }
  template <class T>
  static void backward(std::size_t threads, std::size_t count, const T*, const T* y, const T* dy,
                       T* dx) {
    backend::cpu::sigmoid_backward(threads, count, y, dy, dx);
  }
};

struct tanh_kernels {
  static constexpr const char* name = "Tanh";
  template <class T>
  static void forward(std::size_t threads, std::size_t count, const T* x, T* y) {
    backend::cpu::tanh_forward(threads, count, x, y);
  }
  template <class T>
  static void backward(std::size_t threads, std::size_t count, const T*, const T* y, const T* dy,
                       T* dx) {
    backend::cpu::tanh_backward(threads, count, y, dy, dx);
  }
};

}  // namespace detail

struct ReLU : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<detail::relu_kernels, In>;
};

// min(max(x, 0), 6), as nn.ReLU6 (MobileNet).
struct ReLU6 : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<detail::relu6_kernels, In>;
};

// x * sigmoid(x), as nn.SiLU (EfficientNet's swish).
struct SiLU : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<detail::silu_kernels, In>;
};

struct Sigmoid : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<detail::sigmoid_kernels, In>;
};

struct Tanh : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<detail::tanh_kernels, In>;
};

// nn.Softmax(dim=1) on flat features: turns logits into probabilities for inference. Training
// should use cross_entropy on the logits instead, which is exact where softmax rounds to 0.
struct Softmax : layer_spec {
  template <class In>
  struct bind : stateless_layer {
    static_assert(FlatShape<In>,
                  "Softmax: input must be flat Shape<N> (softmax over the features); insert "
                  "Flatten first");
    using input_shape = In;
    using output_shape = In;
    static std::string describe() { return "Softmax"; }

    template <class T>
    static void forward(const Ctx<T>& ctx, const T* x, T* y) {
      backend::cpu::softmax_forward(ctx.threads, ctx.batch, In::size, x, y);
    }
    template <class T>
    static void backward(const Ctx<T>& ctx, const T*, const T* y, const T* dy, T* dx) {
      if (dx) backend::cpu::softmax_backward(ctx.threads, ctx.batch, In::size, y, dy, dx);
    }
  };
};

}  // namespace strata
