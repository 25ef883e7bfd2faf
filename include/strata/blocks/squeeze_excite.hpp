// Channel attention.
//   Scale<Gate>: y = x * Gate(x), where Gate maps [C, H, W] to per-channel factors [C, 1, 1]
//     broadcast over the plane. Gate's parameters keep their own names (no prefix).
//   SqueezeExcite<Reduction, Activation = ReLU>: Scale of torchvision's SqueezeExcitation —
//     global average pool, 1x1 conv "fc1" to C / Reduction channels, Activation, 1x1 conv "fc2"
//     back to C, Sigmoid (SENet; EfficientNet uses SiLU and sizes the squeeze itself, see
//     SqueezeExciteTo).
//   SqueezeExciteTo<Squeeze, Activation>: the same with an explicit squeeze width.
#pragma once

#include <algorithm>
#include <string>

#include "strata/containers/sequential.hpp"
#include "strata/core/layer.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/pooling.hpp"

namespace strata {

namespace detail {

template <class Gate, class In>
struct bound_scale {
  using gate = typename Gate::template bind<In>;
  static_assert(ImageShape<In>, "Scale: input must be an image Shape<C, H, W>");
  static constexpr std::size_t channels = In::dims[0];
  static constexpr std::size_t plane = In::dims[1] * In::dims[2];
  static_assert(std::is_same_v<typename gate::output_shape, Shape<channels, 1, 1>>,
                "Scale: the gate must produce one factor per channel, Shape<C, 1, 1>");

  using input_shape = In;
  using output_shape = In;
  static constexpr std::size_t parameter_count = gate::parameter_count;
  static constexpr std::size_t macs = gate::macs;
  static constexpr auto params = gate::params;
  static constexpr auto buffers = gate::buffers;
  // Saved per sample: the gate's factors, then the gate's own state.
  static constexpr std::size_t saved_per_sample = channels + gate::saved_per_sample;
  // Scratch: the factors' gradient and the gate's input gradient, then the gate's scratch.
  static constexpr std::size_t scratch_size(std::size_t batch, std::size_t threads) {
    return (channels + In::size) * batch + gate::scratch_size(batch, threads);
  }
  static std::string describe() { return "Scale(" + gate::describe() + ")"; }

  template <class T>
  static void init(T* params, T* buffer_data, Rng& rng) {
    gate::init(params, buffer_data, rng);
  }

  template <class T>
  static void forward(const Ctx<T>& ctx, const T* x, T* y) {
    T* factors = ctx.saved;  // [N, C]
    gate::forward(gate_ctx(ctx), x, factors);
    for (std::size_t n = 0; n < ctx.batch; ++n)
      for (std::size_t c = 0; c < channels; ++c) {
        const T f = factors[n * channels + c];
        const T* in = x + (n * channels + c) * plane;
        T* out = y + (n * channels + c) * plane;
        for (std::size_t p = 0; p < plane; ++p) out[p] = in[p] * f;
      }
  }

  // y = x * g(x): dx = dy * g + (the gate's backward of dg), dg = sum over the plane of dy * x.
  template <class T>
  static void backward(const Ctx<T>& ctx, const T* x, const T*, const T* dy, T* dx) {
    const T* factors = ctx.saved;
    T* factor_grad = ctx.scratch;                                    // [N, C]
    T* gate_dx = dx ? factor_grad + channels * ctx.batch : nullptr;  // [N, C, H, W]
    for (std::size_t n = 0; n < ctx.batch; ++n)
      for (std::size_t c = 0; c < channels; ++c) {
        const std::size_t at = (n * channels + c) * plane;
        T sum = 0;
        for (std::size_t p = 0; p < plane; ++p) sum += dy[at + p] * x[at + p];
        factor_grad[n * channels + c] = sum;
      }
    gate::backward(gate_ctx(ctx), x, factors, factor_grad, gate_dx);
    if (!dx) return;
    for (std::size_t n = 0; n < ctx.batch; ++n)
      for (std::size_t c = 0; c < channels; ++c) {
        const T f = factors[n * channels + c];
        const std::size_t at = (n * channels + c) * plane;
        for (std::size_t p = 0; p < plane; ++p) dx[at + p] = dy[at + p] * f + gate_dx[at + p];
      }
  }

  template <class T>
  static Ctx<T> gate_ctx(const Ctx<T>& ctx) {
    return ctx.child(0, 0, channels, channels + In::size);
  }
};

template <std::size_t Channels, std::size_t Squeeze, class Activation>
using excitation = Sequential<GlobalAvgPool, Named<"fc1", Conv2d<Squeeze, 1>>, Activation,
                              Named<"fc2", Conv2d<Channels, 1>>, Sigmoid>;

}  // namespace detail

template <class Gate>
struct Scale : layer_spec {
  static_assert(LayerSpec<Gate>, "Scale<Gate>: Gate must be a strata layer or block");
  template <class In>
  using bind = detail::bound_scale<Gate, In>;
};

template <std::size_t Squeeze, class Activation = ReLU>
struct SqueezeExciteTo : layer_spec {
  static_assert(Squeeze > 0, "SqueezeExciteTo: the squeeze width must be positive");
  template <class In>
  using bind = detail::bound_scale<detail::excitation<In::dims[0], Squeeze, Activation>, In>;
};

template <std::size_t Reduction, class Activation = ReLU>
struct SqueezeExcite : layer_spec {
  static_assert(Reduction > 0, "SqueezeExcite: the reduction must be positive");
  template <class In>
  using bind = detail::bound_scale<
      detail::excitation<In::dims[0], std::max<std::size_t>(1, In::dims[0] / Reduction),
                         Activation>,
      In>;
};

}  // namespace strata
