// Activation layers: shape-preserving, no parameters.
//   ReLU, ReLU6, SiLU, Sigmoid, Tanh, Hardswish, Hardsigmoid: element-wise, on any shape
//   Softmax: over the features of a flat Shape<N> (nn.Softmax(dim=1)), for inference outputs
#pragma once

#include <string>

#include "strata/core/layer.hpp"

namespace strata {

namespace detail {

template <class Function>
inline constexpr const char* activation_name = nullptr;
template <>
inline constexpr const char* activation_name<act::relu> = "ReLU";
template <>
inline constexpr const char* activation_name<act::relu6> = "ReLU6";
template <>
inline constexpr const char* activation_name<act::silu> = "SiLU";
template <>
inline constexpr const char* activation_name<act::sigmoid> = "Sigmoid";
template <>
inline constexpr const char* activation_name<act::tanh> = "Tanh";
template <>
inline constexpr const char* activation_name<act::hardswish> = "Hardswish";
template <>
inline constexpr const char* activation_name<act::hardsigmoid> = "Hardsigmoid";

// The bound layer of an element-wise activation, Function one of the act:: tags. Backward
// receives both x and y, so each backend differentiates from whichever is cheaper.
template <class Function, class In>
struct bound_elementwise : stateless_layer {
  using input_shape = In;
  using output_shape = In;
  static std::string describe() { return activation_name<Function>; }
  template <class T, class B>
  static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
    kernels<B>::template activation_forward<Function>(ctx.exec, ctx.batch * In::size, x, y);
  }
  template <class T, class B>
  static void backward(const Ctx<T, B>& ctx, const T* x, const T* y, const T* dy, T* dx) {
    if (dx)
      kernels<B>::template activation_backward<Function>(ctx.exec, ctx.batch * In::size, x, y, dy,
                                                         dx);
  }
};

}  // namespace detail

struct ReLU : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<act::relu, In>;
};

// min(max(x, 0), 6), as nn.ReLU6 (MobileNet).
struct ReLU6 : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<act::relu6, In>;
};

// x * sigmoid(x), as nn.SiLU (EfficientNet's swish).
struct SiLU : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<act::silu, In>;
};

struct Sigmoid : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<act::sigmoid, In>;
};

struct Tanh : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<act::tanh, In>;
};

// x * relu6(x + 3) / 6, as nn.Hardswish (MobileNetV3).
struct Hardswish : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<act::hardswish, In>;
};

// relu6(x + 3) / 6, as nn.Hardsigmoid (MobileNetV3's squeeze-and-excitation gate).
struct Hardsigmoid : layer_spec {
  template <class In>
  using bind = detail::bound_elementwise<act::hardsigmoid, In>;
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

    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      kernels<B>::softmax_forward(ctx.exec, ctx.batch, In::size, x, y);
    }
    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T*, const T* y, const T* dy, T* dx) {
      if (dx) kernels<B>::softmax_backward(ctx.exec, ctx.batch, In::size, y, dy, dx);
    }
  };
};

}  // namespace strata
