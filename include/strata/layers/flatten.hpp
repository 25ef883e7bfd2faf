// Flatten: [C, H, W] -> [C*H*W], as torch.flatten(x, 1). The memory layout does not change.
#pragma once

#include <string>

#include "strata/core/layer.hpp"

namespace strata {

struct Flatten : layer_spec {
  template <class In>
  struct bind : stateless_layer {
    using input_shape = In;
    using output_shape = Shape<In::size>;
    static std::string describe() { return "Flatten"; }

    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      kernels<B>::copy(ctx.exec, ctx.batch * In::size, x, y);
    }
    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T*, const T*, const T* dy, T* dx) {
      if (dx) kernels<B>::copy(ctx.exec, ctx.batch * In::size, dy, dx);
    }
  };
};

}  // namespace strata
