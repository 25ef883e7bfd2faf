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

// SamePad2d<Kernel, Stride>: TensorFlow's "same" padding of a Kernel x Kernel convolution of
// stride Stride, for the input it is bound to (the convolution's output is then ceil(input /
// stride)), as the ZeroPad2d that the PyTorch ports of TensorFlow models put before an unpadded
// convolution: the total of an axis is max((ceil(i / s) - 1) * s + k - i, 0), its smaller half
// before (top, left) and the rest after.
template <std::size_t Kernel, std::size_t StrideHW = 1>
struct SamePad2d : layer_spec {
  static_assert(Kernel > 0 && StrideHW > 0, "SamePad2d: kernel and stride must be positive");
  static constexpr std::size_t total(std::size_t in) {
    const std::size_t covered = ((in + StrideHW - 1) / StrideHW - 1) * StrideHW + Kernel;
    return covered > in ? covered - in : 0;
  }

  template <class In>
  struct checked {
    static_assert(ImageShape<In>, "SamePad2d: input must be an image Shape<C, H, W>");
    static constexpr std::size_t height = total(ImageShape<In> ? In::dims[1] : 1);
    static constexpr std::size_t width = total(ImageShape<In> ? In::dims[2] : 1);
    using type = typename ZeroPad2d<width / 2, width - width / 2, height / 2,
                                    height - height / 2>::template bind<In>;
  };
  template <class In>
  using bind = typename checked<In>::type;
};

}  // namespace strata
