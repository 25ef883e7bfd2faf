// MobileNetV3-Large and -Small as torchvision 0.14 builds them (mobilenet_v3_large(),
// mobilenet_v3_small(): width_mult 1.0, no dilation): same layers, same parameter names, same
// parameter counts (5,483,032 and 2,542,856 at 1000 classes) and multiply-accumulates (checked
// at compile time in tests/test_mobilenet.cpp against tests/zoo/mobilenet_v3_*.txt).
//   using Net = st::models::MobileNetV3Small<1000>;                 // 3x224x224 input
//   using Few = st::models::MobileNetV3Small<10, st::Input<3, 96, 96>>;
// The rows below are torchvision's bneck tables (input width, kernel, expanded width, output
// width, squeeze-and-excitation, ReLU or Hardswish, stride) with the input width implied by the
// row before. BatchNorm has eps 1e-3 and momentum 0.01, as torchvision's norm_layer there.
#pragma once

#include "strata/blocks/mobilenet.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata {

namespace detail::mobilenet_v3 {

using norm = BatchNorm2d<Eps<1, 1000>, Momentum<1, 100>>;

template <std::size_t Kernel, std::size_t Expanded, std::size_t Out, bool SE, class Activation,
          std::size_t StrideHW>
using bneck = InvertedResidualV3<Kernel, Expanded, Out, SE, Activation, StrideHW, norm>;

// features.0 (stem), the bneck rows, the last 1x1 convolution to 6x the last row's width; then
// the classifier torchvision builds: Linear to Hidden, Hardswish, Dropout 0.2, Linear.
template <class In, class Blocks, std::size_t LastConv, std::size_t Hidden, std::size_t Classes>
struct network;
template <class In, class... Blocks, std::size_t LastConv, std::size_t Hidden, std::size_t Classes>
struct network<In, Sequential<Blocks...>, LastConv, Hidden, Classes> {
  using type = Sequential<
      In,
      Named<"features", Sequential<ConvNormActivation<16, 3, 2, 1, norm, Hardswish>, Blocks...,
                                   ConvNormActivation<LastConv, 1, 1, 1, norm, Hardswish>>>,
      GlobalAvgPool, Flatten,
      Named<"classifier", Sequential<Linear<Hidden>, Hardswish, Dropout<20>, Linear<Classes>>>>;
};

using large_blocks = Sequential<bneck<3, 16, 16, false, ReLU, 1>,         // features.1
                                bneck<3, 64, 24, false, ReLU, 2>,         // 2
                                bneck<3, 72, 24, false, ReLU, 1>,         // 3
                                bneck<5, 72, 40, true, ReLU, 2>,          // 4
                                bneck<5, 120, 40, true, ReLU, 1>,         // 5
                                bneck<5, 120, 40, true, ReLU, 1>,         // 6
                                bneck<3, 240, 80, false, Hardswish, 2>,   // 7
                                bneck<3, 200, 80, false, Hardswish, 1>,   // 8
                                bneck<3, 184, 80, false, Hardswish, 1>,   // 9
                                bneck<3, 184, 80, false, Hardswish, 1>,   // 10
                                bneck<3, 480, 112, true, Hardswish, 1>,   // 11
                                bneck<3, 672, 112, true, Hardswish, 1>,   // 12
                                bneck<5, 672, 160, true, Hardswish, 2>,   // 13
                                bneck<5, 960, 160, true, Hardswish, 1>,   // 14
                                bneck<5, 960, 160, true, Hardswish, 1>>;  // 15

using small_blocks = Sequential<bneck<3, 16, 16, true, ReLU, 2>,         // features.1
                                bneck<3, 72, 24, false, ReLU, 2>,        // 2
                                bneck<3, 88, 24, false, ReLU, 1>,        // 3
                                bneck<5, 96, 40, true, Hardswish, 2>,    // 4
                                bneck<5, 240, 40, true, Hardswish, 1>,   // 5
                                bneck<5, 240, 40, true, Hardswish, 1>,   // 6
                                bneck<5, 120, 48, true, Hardswish, 1>,   // 7
                                bneck<5, 144, 48, true, Hardswish, 1>,   // 8
                                bneck<5, 288, 96, true, Hardswish, 2>,   // 9
                                bneck<5, 576, 96, true, Hardswish, 1>,   // 10
                                bneck<5, 576, 96, true, Hardswish, 1>>;  // 11

}  // namespace detail::mobilenet_v3

namespace models {

template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using MobileNetV3Large =
    typename detail::mobilenet_v3::network<In, detail::mobilenet_v3::large_blocks, 6 * 160, 1280,
                                           Classes>::type;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using MobileNetV3Small =
    typename detail::mobilenet_v3::network<In, detail::mobilenet_v3::small_blocks, 6 * 96, 1024,
                                           Classes>::type;

}  // namespace models

}  // namespace strata
