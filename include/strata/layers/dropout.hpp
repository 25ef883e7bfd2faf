// Dropout<Percent>: inverted dropout as nn.Dropout(p = Percent / 100). In training each
// element is zeroed with probability p and the survivors are scaled by 1/(1-p), so evaluation
// is the identity. The percentage is an integer because clang 14 has no floating-point
// template arguments.
#pragma once

#include <string>

#include "strata/backend/cpu/elementwise.hpp"
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
    // The scaled keep-mask of the last training forward: 0 or 1/(1-p) per element.
    static constexpr std::size_t saved_per_sample = In::size;
    static std::string describe() { return "Dropout(" + std::to_string(Percent) + "%)"; }

    template <class T>
    static void forward(const Ctx<T>& ctx, const T* x, T* y) {
      const std::size_t count = ctx.batch * In::size;
      if (!ctx.training || Percent == 0) {
        backend::cpu::copy(ctx.threads, count, x, y);
        return;
      }
      // Drawn on one thread: a single generator keeps runs reproducible for a given seed.
      const T keep_scale = static_cast<T>(1.0 / (1.0 - probability));
      const auto threshold = static_cast<Rng::result_type>(probability * 18446744073709551616.0);
      for (std::size_t i = 0; i < count; ++i)
        ctx.saved[i] = (*ctx.rng)() >= threshold ? keep_scale : T(0);
      backend::cpu::multiply(ctx.threads, count, x, ctx.saved, y);
    }
    template <class T>
    static void backward(const Ctx<T>& ctx, const T*, const T*, const T* dy, T* dx) {
      if (!dx) return;
      const std::size_t count = ctx.batch * In::size;
      if (!ctx.training || Percent == 0)
        backend::cpu::copy(ctx.threads, count, dy, dx);
      else
        backend::cpu::multiply(ctx.threads, count, dy, static_cast<const T*>(ctx.saved), dx);
    }
  };
};

}  // namespace strata
