// ResNet's blocks, exactly as torchvision defines them (v1.5: the stride sits on the 3x3
// convolution of the bottleneck), with torchvision's parameter names.
//   BasicBlock<Planes, Stride>:  conv3x3 -> BN -> ReLU -> conv3x3 -> BN, + shortcut, ReLU
//   Bottleneck<Planes, Stride>:  conv1x1 -> BN -> ReLU -> conv3x3(stride) -> BN -> ReLU ->
//                                conv1x1 (4 * Planes) -> BN, + shortcut, ReLU
//   GroupedBottleneck<Groups, WidthPerGroup>::block<Planes, Stride>: torchvision's Bottleneck
//                                with groups and width_per_group: conv1 and the 3x3 conv2 (with
//                                Groups groups) have width = Planes * WidthPerGroup / 64 * Groups
//                                channels (torchvision's int(planes * (base_width / 64.)) *
//                                groups); conv3 still 4 * Planes. <1, 64> is Bottleneck (the same
//                                type), <32, 4> ResNeXt-50 32x4d's, <1, 128> Wide ResNet-50-2's.
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

namespace detail {

// The 3x3 convolution; without a Groups<> option when G is 1, so that ResNet-50's type is the one
// it always was.
template <std::size_t Width, std::size_t StrideHW, std::size_t G>
using bottleneck_conv3x3 =
    std::conditional_t<G == 1, Conv2d<Width, 3, Stride<StrideHW>, Pad<1>, NoBias>,
                       Conv2d<Width, 3, Stride<StrideHW>, Pad<1>, Groups<G>, NoBias>>;

// The bottleneck's body: conv1 .. bn3 on Width channels, then Tail (SEBottleneck's SE module).
template <std::size_t Planes, std::size_t StrideHW, std::size_t G, std::size_t Width, class... Tail>
using bottleneck_body =
    Sequential<Named<"conv1", Conv2d<Width, 1, NoBias>>, Named<"bn1", BatchNorm2d<>>, ReLU,
               Named<"conv2", bottleneck_conv3x3<Width, StrideHW, G>>, Named<"bn2", BatchNorm2d<>>,
               ReLU, Named<"conv3", Conv2d<4 * Planes, 1, NoBias>>, Named<"bn3", BatchNorm2d<>>,
               Tail...>;

// torchvision's width = int(planes * (base_width / 64.)) * groups, in integers.
template <std::size_t Planes, std::size_t Groups, std::size_t WidthPerGroup>
inline constexpr std::size_t bottleneck_width = (Planes * WidthPerGroup) / 64 * Groups;

template <std::size_t Planes, std::size_t StrideHW, std::size_t Groups, std::size_t WidthPerGroup,
          class... Tail>
using bottleneck =
    Residual<bottleneck_body<Planes, StrideHW, Groups,
                             bottleneck_width<Planes, Groups, WidthPerGroup>, Tail...>,
             ProjectionIfNeeded<4 * Planes, StrideHW>, ReLU>;

}  // namespace detail

template <std::size_t Planes, std::size_t StrideHW = 1>
using Bottleneck = detail::bottleneck<Planes, StrideHW, 1, 64>;

template <std::size_t Groups, std::size_t WidthPerGroup>
struct GroupedBottleneck {
  static_assert(Groups > 0 && WidthPerGroup > 0,
                "GroupedBottleneck: Groups and WidthPerGroup must be positive");
  template <std::size_t Planes, std::size_t StrideHW = 1>
  using block = detail::bottleneck<Planes, StrideHW, Groups, WidthPerGroup>;
};

// Bottleneck with squeeze-and-excitation (SENet): the SE module, reduction 16, follows the last
// BatchNorm of the body, before the addition.
template <std::size_t Planes, std::size_t StrideHW = 1>
using SEBottleneck = detail::bottleneck<Planes, StrideHW, 1, 64, Named<"se", SqueezeExcite<16>>>;

}  // namespace strata
