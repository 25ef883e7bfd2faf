// Dropout<Percent>: inverted dropout as nn.Dropout(p = Percent / 100). In training each
// element is zeroed with probability p and the survivors are scaled by 1/(1-p), so evaluation
// is the identity. The percentage is an integer because clang 14 has no floating-point
// template arguments.
#pragma once

#include <string>

#include "strata/core/layer.hpp"

namespace strata {

template <std::size_t Percent>
struct Dropout : layer_spec {
  static_assert(Percent < 100, "Dropout<Percent>: the drop probability must be below 100%");
  static constexpr double probability = static_cast<double>(Percent) / 100.0;

  template <class In>
  struct bind : stateless_layer {
    using input_shape = In;
    using output_shape = In;
    using needs = kernel_ops<op::random_mask>;
    // The scaled keep-mask of the last training forward: 0 or 1/(1-p) per element.
    static constexpr std::size_t saved_per_sample = In::size;
    static std::string describe() { return "Dropout(" + std::to_string(Percent) + "%)"; }

    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      const std::size_t count = ctx.batch * In::size;
      if (!ctx.training || Percent == 0) {
        kernels<B>::copy(ctx.exec, count, x, y);
        return;
      }
      const auto keep_scale = static_cast<T>(1.0 / (1.0 - probability));
      kernels<B>::random_mask(ctx.exec, *ctx.rng, count, probability, keep_scale, ctx.saved);
      kernels<B>::multiply(ctx.exec, count, x, ctx.saved, y);
    }
    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T*, const T*, const T* dy, T* dx) {
      if (!dx) return;
      const std::size_t count = ctx.batch * In::size;
      if (!ctx.training || Percent == 0)
        kernels<B>::copy(ctx.exec, count, dy, dx);
      else
        kernels<B>::multiply(ctx.exec, count, dy, static_cast<const T*>(ctx.saved), dx);
    }
  };
};

}  // namespace strata
