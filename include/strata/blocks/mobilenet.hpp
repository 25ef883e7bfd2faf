// MobileNetV2's blocks, exactly as torchvision defines them, with torchvision's parameter names.
//   ConvBNReLU6<Out, Kernel, Stride, Groups>: torchvision's Conv2dNormActivation with ReLU6:
//     conv (no bias, padding (Kernel - 1) / 2) -> BN -> ReLU6, named 0, 1 (2 has no parameters).
//   InvertedResidual<Expand, Out, Stride>: with Hidden = Expand * (input channels),
//     [ConvBNReLU6 1x1 to Hidden, unless Expand == 1] -> ConvBNReLU6 3x3 depthwise (Stride) ->
//     conv 1x1 to Out (no bias, no activation: the "linear bottleneck") -> BN,
//     under the name "conv" (conv.0.0.weight, ..., conv.N.weight), plus the identity skip
//     connection when Stride is 1 and the input already has Out channels.
#pragma once

#include "strata/containers/residual.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"

namespace strata {

template <std::size_t Out, std::size_t KernelSize = 3, std::size_t StrideHW = 1,
          std::size_t GroupCount = 1>
using ConvBNReLU6 = Sequential<Conv2d<Out, KernelSize, Stride<StrideHW>, Pad<(KernelSize - 1) / 2>,
                                      Groups<GroupCount>, NoBias>,
                               BatchNorm2d<>, ReLU6>;

namespace detail {

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

}  // namespace strata
