// Scale<Gate>: y = x * Gate(x), where Gate maps [C, H, W] to per-channel factors [C, 1, 1]
// broadcast over the plane. Gate's parameters keep their own names (no prefix).
#pragma once

#include <string>

#include "strata/core/layer.hpp"

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
  using needs = needs_t<gate>;
  using output_shape = In;
  static constexpr std::size_t parameter_count = gate::parameter_count;
  static constexpr std::size_t macs = gate::macs;
  static constexpr auto params = gate::params;
  static constexpr auto buffers = gate::buffers;
  // Saved per sample: the gate's factors, then the gate's own state.
  static constexpr std::size_t saved_per_sample = channels + gate::saved_per_sample;
  // Scratch: the factors' gradient and the gate's input gradient, then the gate's scratch.
  template <class B>
  static constexpr std::size_t scratch_size(std::size_t batch, std::size_t threads) {
    return (channels + In::size) * batch + gate::template scratch_size<B>(batch, threads);
  }
  static std::string describe() { return "Scale(" + gate::describe() + ")"; }

  template <class T>
  static void init(T* params, T* buffer_data, Rng& rng) {
    gate::init(params, buffer_data, rng);
  }

  template <class T, class B>
  static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
    T* factors = ctx.saved;  // [N, C]
    gate::forward(gate_ctx(ctx), x, factors);
    // y[n, c, :, :] = x[n, c, :, :] * factors[n, c]
    kernels<B>::scale_planes(ctx.exec, ctx.batch * channels, plane, x,
                             static_cast<const T*>(factors), static_cast<const T*>(nullptr), y);
  }

  // y = x * g(x): dx = dy * g + (the gate's backward of dg), dg = sum over the plane of dy * x.
  template <class T, class B>
  static void backward(const Ctx<T, B>& ctx, const T* x, const T*, const T* dy, T* dx) {
    const T* factors = ctx.saved;
    T* factor_grad = ctx.scratch;                                    // [N, C]
    T* gate_dx = dx ? factor_grad + channels * ctx.batch : nullptr;  // [N, C, H, W]
    kernels<B>::plane_dots(ctx.exec, ctx.batch * channels, plane, dy, x, factor_grad);
    gate::backward(gate_ctx(ctx), x, factors, factor_grad, gate_dx);
    if (!dx) return;
    kernels<B>::scale_planes(ctx.exec, ctx.batch * channels, plane, dy, factors,
                             static_cast<const T*>(gate_dx), dx);
  }

  template <class T, class B>
  static Ctx<T, B> gate_ctx(const Ctx<T, B>& ctx) {
    return ctx.child(0, 0, channels, channels + In::size);
  }
};

}  // namespace detail

template <class Gate>
struct Scale : layer_spec {
  static_assert(LayerSpec<Gate>, "Scale<Gate>: Gate must be a strata layer or block");
  template <class In>
  using bind = detail::bound_scale<Gate, In>;
};

}  // namespace strata
