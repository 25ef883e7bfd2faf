// ResNet's blocks, exactly as torchvision defines them (v1.5: the stride sits on the 3x3
// convolution of the bottleneck), with torchvision's parameter names.
//   BasicBlock<Planes, Stride>:  conv3x3 -> BN -> ReLU -> conv3x3 -> BN, + shortcut, ReLU
//   Bottleneck<Planes, Stride>:  conv1x1 -> BN -> ReLU -> conv3x3(stride) -> BN -> ReLU ->
//                                conv1x1 (4 * Planes) -> BN, + shortcut, ReLU
//   SEBottleneck<Planes, Stride>: Bottleneck with squeeze-and-excitation before the addition
// The shortcut is the identity when the shapes allow it, otherwise torchvision's "downsample":
// a strided 1x1 convolution without bias and a BatchNorm.
#pragma once

#include "strata/blocks/squeeze_excite.hpp"
#include "strata/containers/residual.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"

namespace strata {

// Identity when the input already has OutChannels channels and Stride is 1; otherwise
// conv 1x1 (stride) + BatchNorm, the projection of the ResNet paper's option B.
template <std::size_t OutChannels, std::size_t StrideHW = 1>
struct ProjectionIfNeeded : layer_spec {
  using projection = Sequential<Conv2d<OutChannels, 1, Stride<StrideHW>, NoBias>, BatchNorm2d<>>;
  template <class In>
  using bind = std::conditional_t<StrideHW == 1 && In::dims[0] == OutChannels,
                                  typename Identity::template bind<In>,
                                  typename projection::template bind<In>>;
};

template <std::size_t Planes, std::size_t StrideHW = 1>
using BasicBlock = Residual<
    Sequential<Named<"conv1", Conv2d<Planes, 3, Stride<StrideHW>, Pad<1>, NoBias>>,
               Named<"bn1", BatchNorm2d<>>, ReLU, Named<"conv2", Conv2d<Planes, 3, Pad<1>, NoBias>>,
               Named<"bn2", BatchNorm2d<>>>,
    ProjectionIfNeeded<Planes, StrideHW>, ReLU>;

template <std::size_t Planes, std::size_t StrideHW = 1>
using Bottleneck =
    Residual<Sequential<Named<"conv1", Conv2d<Planes, 1, NoBias>>, Named<"bn1", BatchNorm2d<>>,
                        ReLU, Named<"conv2", Conv2d<Planes, 3, Stride<StrideHW>, Pad<1>, NoBias>>,
                        Named<"bn2", BatchNorm2d<>>, ReLU,
                        Named<"conv3", Conv2d<4 * Planes, 1, NoBias>>, Named<"bn3", BatchNorm2d<>>>,
             ProjectionIfNeeded<4 * Planes, StrideHW>, ReLU>;

// Bottleneck with squeeze-and-excitation (SENet): the SE module, reduction 16, follows the last
// BatchNorm of the body, before the addition.
template <std::size_t Planes, std::size_t StrideHW = 1>
using SEBottleneck = Residual<
    Sequential<Named<"conv1", Conv2d<Planes, 1, NoBias>>, Named<"bn1", BatchNorm2d<>>, ReLU,
               Named<"conv2", Conv2d<Planes, 3, Stride<StrideHW>, Pad<1>, NoBias>>,
               Named<"bn2", BatchNorm2d<>>, ReLU, Named<"conv3", Conv2d<4 * Planes, 1, NoBias>>,
               Named<"bn3", BatchNorm2d<>>, Named<"se", SqueezeExcite<16>>>,
    ProjectionIfNeeded<4 * Planes, StrideHW>, ReLU>;

}  // namespace strata
