// EfficientNet-B0 ... B7 as torchvision 0.14 builds them: same layers, same parameter names, same
// parameter counts and multiply-accumulates (checked at compile time in
// tests/test_efficientnet.cpp).
//   using Net = st::models::EfficientNetB0<1000>;                // 3x224x224 input
//   using Small = st::models::EfficientNetB0<10, st::Input<3, 32, 32>>;
// B1..B7 are not tabulated: as in torchvision they are B0's stage table scaled by a width and a
// depth multiplier, with torchvision's rounding, evaluated here at compile time. The arithmetic
// is done in double exactly as Python does it (the same IEEE operations on the same literals),
// so the rounding of every channel count agrees with torchvision's bit for bit.
//
// MBConv<Expand, Kernel, Stride, In, Out, Drop, Norm>: torchvision's MBConv block, parameters
// under "block.<i>" (1x1 expansion unless Expand is 1, depthwise KxK, squeeze-and-excitation with
// SiLU and max(1, In / 4) squeeze channels, 1x1 projection). As in torchvision, the skip
// connection exists exactly when Stride is 1 and In == Out, and Drop (StochasticDepth) acts on
// the body only then.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <type_traits>
#include <utility>

#include "strata/blocks/mobilenet.hpp"
#include "strata/blocks/squeeze_excite.hpp"
#include "strata/containers/residual.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"
#include "strata/layers/stochastic_depth.hpp"

namespace strata {

namespace detail::efficientnet {

// math.ceil, which is not constexpr in C++20.
constexpr std::size_t ceil(double v) {
  const auto whole = static_cast<std::size_t>(v);
  return static_cast<double>(whole) < v ? whole + 1 : whole;
}

template <std::size_t Out, std::size_t Kernel, std::size_t StrideHW, std::size_t G, class Norm>
using conv_norm_silu = ConvNormActivation<Out, Kernel, StrideHW, G, Norm, SiLU>;

// torchvision leaves the expansion out when it would not change the width, which shifts the
// indices (and so the names) of the remaining children.
template <std::size_t Expanded, std::size_t Kernel, std::size_t StrideHW, std::size_t In,
          std::size_t Out, class Norm>
struct mbconv_body {
  using depthwise = conv_norm_silu<Expanded, Kernel, StrideHW, Expanded, Norm>;
  using excite = SqueezeExciteTo<std::max<std::size_t>(1, In / 4), SiLU>;
  using project = ConvNorm<Out, 1, 1, 1, Norm>;
  using type = std::conditional_t<
      Expanded == In, Sequential<depthwise, excite, project>,
      Sequential<conv_norm_silu<Expanded, 1, 1, 1, Norm>, depthwise, excite, project>>;
};

}  // namespace detail::efficientnet

template <std::size_t Expand, std::size_t Kernel, std::size_t StrideHW, std::size_t InChannels,
          std::size_t OutChannels, class Drop = StochasticDepth<0>, class Norm = BatchNorm2d<>>
struct MBConv : layer_spec {
  static_assert(StrideHW == 1 || StrideHW == 2, "MBConv: the stride must be 1 or 2");
  static_assert(Kernel % 2 == 1, "MBConv: the kernel must be odd");
  static constexpr std::size_t expanded =
      detail::make_divisible(static_cast<double>(InChannels * Expand));
  static constexpr bool residual = StrideHW == 1 && InChannels == OutChannels;
  using body = Named<"block", typename detail::efficientnet::mbconv_body<
                                  expanded, Kernel, StrideHW, InChannels, OutChannels, Norm>::type>;
  using block = std::conditional_t<residual, Residual<Sequential<body, Drop>>, Sequential<body>>;

  template <class In>
  struct checked {
    static_assert(In::dims[0] == InChannels,
                  "MBConv: the input does not have the block's InChannels channels");
    using type = typename block::template bind<In>;
  };
  template <class In>
  using bind = typename checked<In>::type;
};

namespace detail::efficientnet {

struct Variant {
  double width, depth;          // torchvision's width_mult and depth_mult
  std::size_t dropout_percent;  // before the classifier
  bool tf_batchnorm;            // B5-B7: BatchNorm eps 1e-3, momentum 0.01
};
inline constexpr Variant variants[] = {
    {1.0, 1.0, 20, false}, {1.0, 1.1, 20, false}, {1.1, 1.2, 30, false}, {1.2, 1.4, 30, false},
    {1.4, 1.8, 40, false}, {1.6, 2.2, 40, true},  {1.8, 2.6, 50, true},  {2.0, 3.1, 50, true},
};

struct StageConfig {
  std::size_t expand, kernel, stride, in, out, layers;
};
// B0, as torchvision's _efficientnet_conf.
inline constexpr StageConfig b0_stages[] = {
    {1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},   {6, 3, 2, 40, 80, 3},
    {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1},
};
inline constexpr std::size_t stage_count = std::size(b0_stages);

// Stage S of variant V after compound scaling, and the numbering of its blocks across the whole
// network, which sets their stochastic-depth probabilities.
template <std::size_t V>
struct scaled {
  static constexpr Variant variant = variants[V];
  static constexpr std::size_t channels(std::size_t c) {
    return make_divisible(static_cast<double>(c) * variant.width);
  }
  static constexpr std::size_t in(std::size_t s) { return channels(b0_stages[s].in); }
  static constexpr std::size_t out(std::size_t s) { return channels(b0_stages[s].out); }
  static constexpr std::size_t layers(std::size_t s) {
    return ceil(static_cast<double>(b0_stages[s].layers) * variant.depth);
  }
  static constexpr std::size_t first_block(std::size_t s) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s; ++i) n += layers(i);
    return n;
  }
  static constexpr std::size_t total_blocks = first_block(stage_count);
  using norm = std::conditional_t<variant.tf_batchnorm, BatchNorm2d<Eps<1, 1000>, Momentum<1, 100>>,
                                  BatchNorm2d<>>;

  // Block J of stage S: the first takes the stage's stride and input width, the others keep the
  // output width at stride 1. Drop probability 0.2 * block / blocks, as the exact ratio.
  template <std::size_t S, std::size_t J>
  using block = MBConv<b0_stages[S].expand, b0_stages[S].kernel, J == 0 ? b0_stages[S].stride : 1,
                       J == 0 ? in(S) : out(S), out(S),
                       StochasticDepth<first_block(S) + J, 5 * total_blocks>, norm>;

  template <std::size_t S, class Blocks = std::make_index_sequence<layers(S)>>
  struct stage_of;
  template <std::size_t S, std::size_t... J>
  struct stage_of<S, std::index_sequence<J...>> {
    using type = Sequential<block<S, J>...>;
  };
  template <std::size_t S>
  using stage = typename stage_of<S>::type;

  template <class Stages = std::make_index_sequence<stage_count>>
  struct features_of;
  template <std::size_t... S>
  struct features_of<std::index_sequence<S...>> {
    using type = Sequential<conv_norm_silu<in(0), 3, 2, 1, norm>,  // stem
                            stage<S>...,                           //
                            conv_norm_silu<4 * out(stage_count - 1), 1, 1, 1, norm>>;
  };
  using features = typename features_of<>::type;
};

template <std::size_t V, std::size_t Classes, class In>
using network = Sequential<
    In,                                               //
    Named<"features", typename scaled<V>::features>,  //
    GlobalAvgPool, Flatten,                           // avgpool
    Named<"classifier", Sequential<Dropout<variants[V].dropout_percent>, Linear<Classes>>>>;

}  // namespace detail::efficientnet

namespace models {

template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using EfficientNetB0 = detail::efficientnet::network<0, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 240, 240>>
using EfficientNetB1 = detail::efficientnet::network<1, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 260, 260>>
using EfficientNetB2 = detail::efficientnet::network<2, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 300, 300>>
using EfficientNetB3 = detail::efficientnet::network<3, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 380, 380>>
using EfficientNetB4 = detail::efficientnet::network<4, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 456, 456>>
using EfficientNetB5 = detail::efficientnet::network<5, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 528, 528>>
using EfficientNetB6 = detail::efficientnet::network<6, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 600, 600>>
using EfficientNetB7 = detail::efficientnet::network<7, Classes, In>;

}  // namespace models

}  // namespace strata
