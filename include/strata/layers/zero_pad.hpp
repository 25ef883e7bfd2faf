// ZeroPad2d<Left, Right, Top, Bottom>: zeros around each plane, as PyTorch's
// nn.ZeroPad2d((left, right, top, bottom)), in PyTorch's order; ZeroPad2d<P> pads every side by
// P. Why a layer: TensorFlow's "same" padding of a stride-2 convolution on an even input puts
// one more row and column at the bottom and right than at the top and left, which a Conv2d's
// symmetric Pad cannot express; the PyTorch ports of TensorFlow models (EfficientNet-Lite) build
// such a convolution as nn.ZeroPad2d followed by an unpadded one, and so does strata.
#pragma once

#include <cstddef>
#include <string>

#include "strata/backend/geometry.hpp"
#include "strata/backend/kernels.hpp"
#include "strata/core/layer.hpp"

namespace strata {

template <std::size_t Left, std::size_t Right = Left, std::size_t Top = Left,
          std::size_t Bottom = Top>
struct ZeroPad2d : layer_spec {
  template <class In>
  struct bind : stateless_layer {
    static_assert(ImageShape<In>, "ZeroPad2d: input must be an image Shape<C, H, W>");
    static constexpr std::size_t channels = ImageShape<In> ? In::dims[0] : 1;
    static constexpr backend::PadGeometry geometry{ImageShape<In> ? In::dims[1] : 1,
                                                   ImageShape<In> ? In::dims[2] : 1,
                                                   Left,
                                                   Right,
                                                   Top,
                                                   Bottom};
    using input_shape = In;
    using output_shape =
        image_layer_output<In, Shape<channels, geometry.out_height(), geometry.out_width()>>;
    using needs = kernel_ops<op::zero_pad>;
    static std::string describe() {
      return "ZeroPad2d((" + std::to_string(Left) + ", " + std::to_string(Right) + ", " +
             std::to_string(Top) + ", " + std::to_string(Bottom) + "))";
    }

    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      kernels<B>::template zero_pad_forward<geometry>(ctx.exec, ctx.batch * channels, x, y);
    }
    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T*, const T*, const T* dy, T* dx) {
      if (dx)
        kernels<B>::template zero_pad_backward<geometry>(ctx.exec, ctx.batch * channels, dy, dx);
    }
  };
};

}  // namespace strata
