// StochasticDepth<Num, Den = 100>: torchvision.ops.StochasticDepth(p = Num / Den, "row"). In
// training each sample of the batch is zeroed as a whole with probability p and the survivors are
// scaled by 1/(1-p); evaluation is the identity. Placed on a residual body, it drops the body for
// that sample (Huang et al., "Deep Networks with Stochastic Depth").
//   StochasticDepth<20>     p = 0.2 (the denominator defaults to 100, as Dropout's percentage)
//   StochasticDepth<3, 80>  p = 3/80: EfficientNet's 0.2 * block / blocks, exactly
// The probability is a ratio because clang 14 has no floating-point template arguments, and a
// percentage cannot express EfficientNet's per-block values.
#pragma once

#include <string>

#include "strata/core/layer.hpp"

namespace strata {

template <std::size_t Num, std::size_t Den = 100>
struct StochasticDepth : layer_spec {
  static_assert(Den > 0, "StochasticDepth<Num, Den>: the denominator must be positive");
  static_assert(Num < Den, "StochasticDepth<Num, Den>: the drop probability must be below 1");
  static constexpr double probability = static_cast<double>(Num) / static_cast<double>(Den);

  template <class In>
  struct bind : stateless_layer {
    using input_shape = In;
    using output_shape = In;
    using needs = kernel_ops<op::random_mask>;
    // One factor per sample from the last training forward: 0 or 1/(1-p).
    static constexpr std::size_t saved_per_sample = 1;
    static std::string describe() {
      return "StochasticDepth(" + std::to_string(Num) + "/" + std::to_string(Den) + ", row)";
    }

    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      if (!ctx.training || Num == 0) {
        kernels<B>::copy(ctx.exec, ctx.batch * In::size, x, y);
        return;
      }
      const auto keep_scale = static_cast<T>(1.0 / (1.0 - probability));
      kernels<B>::random_mask(ctx.exec, *ctx.rng, ctx.batch, probability, keep_scale, ctx.saved);
      scale_rows(ctx, x, y);
    }
    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T*, const T*, const T* dy, T* dx) {
      if (!dx) return;
      if (!ctx.training || Num == 0)
        kernels<B>::copy(ctx.exec, ctx.batch * In::size, dy, dx);
      else
        scale_rows(ctx, dy, dx);  // the same linear map: its own adjoint
    }

   private:
    // to[n, :] = from[n, :] * factor[n]
    template <class T, class B>
    static void scale_rows(const Ctx<T, B>& ctx, const T* from, T* to) {
      kernels<B>::scale_planes(ctx.exec, ctx.batch, In::size, from,
                               static_cast<const T*>(ctx.saved), static_cast<const T*>(nullptr),
                               to);
    }
  };
};

}  // namespace strata
