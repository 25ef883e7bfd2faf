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

#include "strata/backend/cpu/elementwise.hpp"
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
    // One factor per sample from the last training forward: 0 or 1/(1-p).
    static constexpr std::size_t saved_per_sample = 1;
    static std::string describe() {
      return "StochasticDepth(" + std::to_string(Num) + "/" + std::to_string(Den) + ", row)";
    }

    template <class T>
    static void forward(const Ctx<T>& ctx, const T* x, T* y) {
      if (!ctx.training || Num == 0) {
        backend::cpu::copy(ctx.threads, ctx.batch * In::size, x, y);
        return;
      }
      const T keep_scale = static_cast<T>(1.0 / (1.0 - probability));
      const auto threshold = static_cast<Rng::result_type>(probability * 18446744073709551616.0);
      for (std::size_t n = 0; n < ctx.batch; ++n)
        ctx.saved[n] = (*ctx.rng)() >= threshold ? keep_scale : T(0);
      scale_rows(ctx, x, y);
    }
    template <class T>
    static void backward(const Ctx<T>& ctx, const T*, const T*, const T* dy, T* dx) {
      if (!dx) return;
      if (!ctx.training || Num == 0)
        backend::cpu::copy(ctx.threads, ctx.batch * In::size, dy, dx);
      else
        scale_rows(ctx, dy, dx);  // the same linear map: its own adjoint
    }

   private:
    template <class T>
    static void scale_rows(const Ctx<T>& ctx, const T* from, T* to) {
      for (std::size_t n = 0; n < ctx.batch; ++n) {
        const T factor = ctx.saved[n];
        const T* in = from + n * In::size;
        T* out = to + n * In::size;
        for (std::size_t i = 0; i < In::size; ++i) out[i] = in[i] * factor;
      }
    }
  };
};

}  // namespace strata
