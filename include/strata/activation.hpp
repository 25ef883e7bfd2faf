// Activation layers: element-wise, shape-preserving, no parameters.
#pragma once

#include <string>

#include "strata/backend/cpu/elementwise.hpp"
#include "strata/layer.hpp"

namespace strata {

struct ReLU : layer_spec {
  template <class In>
  struct bind : stateless_layer {
    using input_shape = In;
    using output_shape = In;
    static std::string describe() { return "ReLU"; }

    template <class T>
    static void forward(const Ctx<T>& ctx, const T* x, T* y) {
      backend::cpu::relu_forward(ctx.threads, ctx.batch * In::size, x, y);
    }
    template <class T>
    static void backward(const Ctx<T>& ctx, const T*, const T* y, const T* dy, T* dx) {
      if (dx) backend::cpu::relu_backward(ctx.threads, ctx.batch * In::size, y, dy, dx);
    }
  };
};

}  // namespace strata
