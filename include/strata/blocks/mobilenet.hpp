// The MobileNet family's blocks, exactly as torchvision defines them, with its parameter names.
//   ConvNormActivation<Out, Kernel, Stride, Groups, Norm, Activation>: torchvision's
//     Conv2dNormActivation: conv (no bias, padding (Kernel - 1) / 2) -> Norm -> Activation, named
//     0, 1 (2 has no parameters); ConvNorm without the activation (activation_layer=None).
//   ConvBNReLU6<Out, Kernel, Stride, Groups>: MobileNetV2's, with BatchNorm2d<> and ReLU6.
//   InvertedResidual<Expand, Out, Stride>: with Hidden = Expand * (input channels),
//     [ConvBNReLU6 1x1 to Hidden, unless Expand == 1] -> ConvBNReLU6 3x3 depthwise (Stride) ->
//     conv 1x1 to Out (no bias, no activation: the "linear bottleneck") -> BN,
//     under the name "conv" (conv.0.0.weight, ..., conv.N.weight), plus the identity skip
//     connection when Stride is 1 and the input already has Out channels.
//   InvertedResidualV3<Kernel, Expanded, Out, SE, Activation, Stride, Norm>: MobileNetV3's, one
//     row of torchvision's bneck table: [ConvNormActivation 1x1 to Expanded, unless the input
//     already has Expanded channels] -> depthwise KxK (Stride) -> [SqueezeExciteTo with
//     make_divisible(Expanded / 4) channels, ReLU and Hardsigmoid, when SE] -> ConvNorm 1x1 to
//     Out, under the name "block"; the skip connection when Stride is 1 and In == Out.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "strata/blocks/squeeze_excite.hpp"
#include "strata/containers/residual.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"

namespace strata {

template <std::size_t Out, std::size_t KernelSize, std::size_t StrideHW, std::size_t GroupCount,
          class Norm>
using ConvNorm = Sequential<Conv2d<Out, KernelSize, Stride<StrideHW>, Pad<(KernelSize - 1) / 2>,
                                   Groups<GroupCount>, NoBias>,
                            Norm>;
template <std::size_t Out, std::size_t KernelSize, std::size_t StrideHW, std::size_t GroupCount,
          class Norm, class Activation>
using ConvNormActivation = Sequential<Conv2d<Out, KernelSize, Stride<StrideHW>,
                                             Pad<(KernelSize - 1) / 2>, Groups<GroupCount>, NoBias>,
                                      Norm, Activation>;

template <std::size_t Out, std::size_t KernelSize = 3, std::size_t StrideHW = 1,
          std::size_t GroupCount = 1>
using ConvBNReLU6 = ConvNormActivation<Out, KernelSize, StrideHW, GroupCount, BatchNorm2d<>, ReLU6>;

namespace detail {

// torchvision's _make_divisible(v, 8) (MobileNetV2 introduced it; MobileNetV3 and EfficientNet
// use it): to the nearest multiple of 8, at least 8, and never more than 10% below v.
constexpr std::size_t make_divisible(double v) {
  constexpr long divisor = 8;
  long rounded = std::max(divisor, static_cast<long>(v + divisor / 2.0) / divisor * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return static_cast<std::size_t>(rounded);
}

// torchvision leaves the expansion out when it would be a 1x1 convolution to the same width, so
// the indices inside "conv" shift by one (conv.0 is then the depthwise step).
template <std::size_t Expand, std::size_t In, std::size_t Out, std::size_t StrideHW>
struct inverted_residual_body {
  using type =
      Sequential<ConvBNReLU6<Expand * In, 1>, ConvBNReLU6<Expand * In, 3, StrideHW, Expand * In>,
                 Conv2d<Out, 1, NoBias>, BatchNorm2d<>>;
};
template <std::size_t In, std::size_t Out, std::size_t StrideHW>
struct inverted_residual_body<1, In, Out, StrideHW> {
  using type = Sequential<ConvBNReLU6<In, 3, StrideHW, In>, Conv2d<Out, 1, NoBias>, BatchNorm2d<>>;
};

}  // namespace detail

template <std::size_t Expand, std::size_t Out, std::size_t StrideHW = 1>
struct InvertedResidual : layer_spec {
  static_assert(Expand >= 1, "InvertedResidual<Expand, Out, Stride>: Expand must be at least 1");
  static_assert(StrideHW == 1 || StrideHW == 2,
                "InvertedResidual<Expand, Out, Stride>: Stride must be 1 or 2, as torchvision's");
  // The hidden width depends on the input's channels, known only here. The one-child Sequential
  // only supplies the "conv" prefix: it saves no activation (a last child writes the caller's
  // output), and adds only scratch.
  template <class In>
  using bind = typename ResidualIfSameShape<Sequential<Named<
      "conv", typename detail::inverted_residual_body<Expand, In::dims[0], Out, StrideHW>::type>>>::
      template bind<In>;
};

namespace detail {

// As V2's, the expansion is left out when it would not change the width, shifting the names.
template <std::size_t Kernel, std::size_t Expanded, std::size_t Out, bool SE, class Activation,
          std::size_t StrideHW, class Norm, std::size_t In>
struct inverted_residual_v3_body {
  using expand = ConvNormActivation<Expanded, 1, 1, 1, Norm, Activation>;
  using depthwise = ConvNormActivation<Expanded, Kernel, StrideHW, Expanded, Norm, Activation>;
  using excite =
      SqueezeExciteTo<make_divisible(static_cast<double>(Expanded / 4)), ReLU, Hardsigmoid>;
  using project = ConvNorm<Out, 1, 1, 1, Norm>;
  using unexpanded = std::conditional_t<SE, Sequential<depthwise, excite, project>,
                                        Sequential<depthwise, project>>;
  using expanded = std::conditional_t<SE, Sequential<expand, depthwise, excite, project>,
                                      Sequential<expand, depthwise, project>>;
  using type = std::conditional_t<Expanded == In, unexpanded, expanded>;
};

}  // namespace detail

template <std::size_t Kernel, std::size_t Expanded, std::size_t Out, bool SE, class Activation,
          std::size_t StrideHW, class Norm = BatchNorm2d<>>
struct InvertedResidualV3 : layer_spec {
  static_assert(StrideHW == 1 || StrideHW == 2,
                "InvertedResidualV3: the stride must be 1 or 2, as torchvision's");
  static_assert(Kernel % 2 == 1, "InvertedResidualV3: the kernel must be odd");
  template <class In>
  using body = Sequential<Named<
      "block", typename detail::inverted_residual_v3_body<Kernel, Expanded, Out, SE, Activation,
                                                          StrideHW, Norm, In::dims[0]>::type>>;
  template <class In>
  using bind = typename std::conditional_t<StrideHW == 1 && In::dims[0] == Out, Residual<body<In>>,
                                           body<In>>::template bind<In>;
};

}  // namespace strata
