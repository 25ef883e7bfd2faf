// EfficientNet-Lite0 ... Lite4 as the PyTorch port that holds their ImageNet checkpoints builds
// them (PyPI efficientnet-lite-pytorch 0.1.0, from TensorFlow's efficientnet-lite): same layers,
// parameter names ("_blocks.3._depthwise_conv.weight"), counts and multiply-accumulates (checked
// in tests/test_efficientnet.cpp against tests/zoo/efficientnet_lite*.txt).
//   using Net = st::models::EfficientNetLite0<1000>;   // 3x224x224 input
// Lite is EfficientNet made for mobile accelerators: B0's stage table scaled as B0..B4 are, but
// ReLU6 instead of SiLU, no squeeze-and-excitation, and a stem (32) and head (1280) that are not
// scaled, nor are the repeats of the first and last stages. Every KxK convolution has
// TensorFlow's "same" padding (SamePad2d: asymmetric for stride 2 on an even input), computed
// from the input size the network is bound to; at each model's own size this is the port's
// padding exactly (the port computes it once, for that size).
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "strata/containers/residual.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/core/preprocessing.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"
#include "strata/layers/stochastic_depth.hpp"
#include "strata/layers/zero_pad.hpp"
#include "strata/models/efficientnet.hpp"

namespace strata {

namespace detail::efficientnet_lite {

// TensorFlow's BatchNorm settings: eps 1e-3, momentum 0.99 (PyTorch's 0.01).
using norm = BatchNorm2d<Eps<1, 1000>, Momentum<1, 100>>;

// A convolution with "same" padding, its weight named as the whole (the port's
// Conv2dStaticSamePadding holds the padding as a child without parameters). At stride 1 the
// padding of an odd kernel is (Kernel - 1) / 2 on every side, which the convolution does itself
// (and its direct kernels need).
template <std::size_t Out, std::size_t Kernel, std::size_t StrideHW, std::size_t G>
using same_conv = std::conditional_t<
    StrideHW == 1 && Kernel % 2 == 1, Conv2d<Out, Kernel, Pad<(Kernel - 1) / 2>, Groups<G>, NoBias>,
    Sequential<SamePad2d<Kernel, StrideHW>,
               Unprefixed<Conv2d<Out, Kernel, Stride<StrideHW>, Groups<G>, NoBias>>>>;

// The port's MBConvBlock without squeeze-and-excitation: expansion (unless Expand is 1),
// depthwise, linear projection; the skip connection, with drop connect on the body, exactly
// when Stride is 1 and In == Out.
template <std::size_t Expand, std::size_t Kernel, std::size_t StrideHW, std::size_t In,
          std::size_t Out, class Drop>
struct block {
  static constexpr std::size_t expanded = In * Expand;
  using depthwise_project =
      Sequential<Named<"_depthwise_conv", same_conv<expanded, Kernel, StrideHW, expanded>>,
                 Named<"_bn1", norm>, ReLU6, Named<"_project_conv", Conv2d<Out, 1, NoBias>>,
                 Named<"_bn2", norm>>;
  using body =
      std::conditional_t<Expand == 1, depthwise_project,
                         Sequential<Named<"_expand_conv", Conv2d<expanded, 1, NoBias>>,
                                    Named<"_bn0", norm>, ReLU6, Unprefixed<depthwise_project>>>;
  using type = std::conditional_t<StrideHW == 1 && In == Out,
                                  Residual<Sequential<Unprefixed<body>, Drop>>, body>;
};

struct Variant {
  double width, depth;
  std::size_t dropout_percent;
};
inline constexpr Variant variants[] = {
    {1.0, 1.0, 20}, {1.0, 1.1, 20}, {1.1, 1.2, 30}, {1.2, 1.4, 30}, {1.4, 1.8, 30},
};

template <std::size_t V>
struct scaled {
  static constexpr Variant variant = variants[V];
  static constexpr auto& stages = efficientnet::b0_stages;
  static constexpr std::size_t stage_count = efficientnet::stage_count;
  static constexpr std::size_t channels(std::size_t c) {
    return make_divisible(static_cast<double>(c) * variant.width);
  }
  // The stem's 32 channels are not scaled, so neither is the first stage's input.
  static constexpr std::size_t in(std::size_t s) { return s == 0 ? 32 : channels(stages[s].in); }
  static constexpr std::size_t out(std::size_t s) { return channels(stages[s].out); }
  static constexpr std::size_t layers(std::size_t s) {
    return s == 0 || s == stage_count - 1
               ? stages[s].layers
               : efficientnet::ceil(static_cast<double>(stages[s].layers) * variant.depth);
  }
  static constexpr std::size_t first_block(std::size_t s) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s; ++i) n += layers(i);
    return n;
  }
  static constexpr std::size_t total_blocks = first_block(stage_count);
  static constexpr std::size_t stage_of(std::size_t b) {
    std::size_t s = 0;
    while (b >= first_block(s + 1)) ++s;
    return s;
  }

  // Block b of the network (the port numbers them across stages): the first of a stage takes
  // its stride and input width. Drop-connect probability 0.2 * b / blocks, as the exact ratio.
  template <std::size_t B, std::size_t S = stage_of(B), std::size_t J = B - first_block(S)>
  using block_at =
      typename block<stages[S].expand, stages[S].kernel, J == 0 ? stages[S].stride : 1,
                     J == 0 ? in(S) : out(S), out(S), StochasticDepth<B, 5 * total_blocks>>::type;

  // Blocks [First, Last), each named by its number in the whole network ("_blocks.15."), so
  // that a network cut at a block boundary loads the same checkpoint.
  template <std::size_t First, std::size_t Last,
            class Offsets = std::make_index_sequence<Last - First>>
  struct blocks_of;
  template <std::size_t First, std::size_t Last, std::size_t... I>
  struct blocks_of<First, Last, std::index_sequence<I...>> {
    using type = Sequential<Named<index_name<First + I>(), block_at<First + I>>...>;
  };
  template <std::size_t First, std::size_t Last>
  using blocks = Named<"_blocks", typename blocks_of<First, Last>::type>;
};

using stem = std::tuple<Named<"_conv_stem", same_conv<32, 3, 2, 1>>, Named<"_bn0", norm>, ReLU6>;
template <std::size_t V, std::size_t Classes>
using head = std::tuple<Named<"_conv_head", Conv2d<1280, 1, NoBias>>, Named<"_bn1", norm>, ReLU6,
                        GlobalAvgPool, Flatten, Dropout<variants[V].dropout_percent>,
                        Named<"_fc", Linear<Classes>>>;

// Sequential<In, the layers of Parts... in order>, each part a std::tuple of layers.
template <class In, class... Parts>
struct network_of {
  template <class... Specs>
  static Sequential<In, Specs...> join(std::tuple<Specs...>);
  using type = decltype(join(std::tuple_cat(std::declval<Parts>()...)));
};

template <std::size_t V, std::size_t Classes, class In>
using network =
    typename network_of<In, stem,
                        std::tuple<typename scaled<V>::template blocks<0, scaled<V>::total_blocks>>,
                        head<V, Classes>>::type;

// The network cut before block Cut: the front (stem and blocks before Cut) and the back (the
// rest, on the front's output).
template <std::size_t V, std::size_t Cut, class In>
using front =
    typename network_of<In, stem, std::tuple<typename scaled<V>::template blocks<0, Cut>>>::type;
template <std::size_t V, std::size_t Cut, std::size_t Classes, class In>
using back = typename network_of<
    In, std::tuple<typename scaled<V>::template blocks<Cut, scaled<V>::total_blocks>>,
    head<V, Classes>>::type;

}  // namespace detail::efficientnet_lite

namespace models {

// The ImageNet checkpoints' evaluation preprocessing, for a model of input size x size:
// TensorFlow's efficientnet-lite (preprocessing.py's centre crop with CROP_PADDING 32, and lite's
// MEAN_RGB 127 and STDDEV_RGB 128 on 0..255 values). The resize is PIL's BICUBIC, as in the
// PyTorch reference that tests/image/pretrained_parity.py checks strata against; TensorFlow's own
// resize_bicubic is not antialiased and differs from it a little.
constexpr EvalPreprocessing efficientnet_lite_eval(std::size_t size) {
  return {EvalPreprocessing::Geometry::crop_then_resize,
          size,
          0,
          32,
          Resample::bicubic,
          1.0f,
          {127.0f, 127.0f, 127.0f},
          {128.0f, 128.0f, 128.0f}};
}

template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using EfficientNetLite0 = detail::efficientnet_lite::network<0, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 240, 240>>
using EfficientNetLite1 = detail::efficientnet_lite::network<1, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 260, 260>>
using EfficientNetLite2 = detail::efficientnet_lite::network<2, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 280, 280>>
using EfficientNetLite3 = detail::efficientnet_lite::network<3, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 300, 300>>
using EfficientNetLite4 = detail::efficientnet_lite::network<4, Classes, In>;

// EfficientNet-Lite<V> cut before block Cut, for training the back on what a frozen front
// computes once: both parts keep the whole model's tensor names, so each loads the checkpoint.
// Lite0 at 96x96 cut before its last block, 15:
//   using Front = EfficientNetLiteFront<0, 15, Input<3, 96, 96>>;    // [192, 3, 3]
//   using Back = EfficientNetLiteBack<0, 15, 10, Input<192, 3, 3>>;  // [10]
template <std::size_t V, std::size_t Cut, class In>
using EfficientNetLiteFront = detail::efficientnet_lite::front<V, Cut, In>;
template <std::size_t V, std::size_t Cut, std::size_t Classes, class In>
using EfficientNetLiteBack = detail::efficientnet_lite::back<V, Cut, Classes, In>;

}  // namespace models

}  // namespace strata
