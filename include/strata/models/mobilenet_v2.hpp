// MobileNetV2 as torchvision builds it with torchvision.models.mobilenet_v2() (width_mult 1.0):
// same layers, same parameter names, same parameter count (3,504,872 at 1000 classes) and
// multiply-accumulates (checked at compile time in tests/test_mobilenet.cpp).
//   using Net = st::models::MobileNetV2<1000>;                     // 3x224x224 input
//   using Small = st::models::MobileNetV2<10, st::Input<3, 32, 32>>;
// Other width multipliers are not provided: torchvision rounds their channel counts to
// multiples of 8, which would have to be reproduced here before they could match.
#pragma once

#include "strata/blocks/mobilenet.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata::models {

// features.1 .. features.17 follow torchvision's (t, c, n, s) table: n blocks of expansion t to
// c channels, the first with stride s. One flat Sequential, as torchvision's, so that the blocks
// are numbered features.1 .. features.17 rather than by stage.
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using MobileNetV2 = Sequential<In,
                               Named<"features", Sequential<ConvBNReLU6<32, 3, 2>,        // 0
                                                            InvertedResidual<1, 16, 1>,   // 1
                                                            InvertedResidual<6, 24, 2>,   // 2
                                                            InvertedResidual<6, 24, 1>,   // 3
                                                            InvertedResidual<6, 32, 2>,   // 4
                                                            InvertedResidual<6, 32, 1>,   // 5
                                                            InvertedResidual<6, 32, 1>,   // 6
                                                            InvertedResidual<6, 64, 2>,   // 7
                                                            InvertedResidual<6, 64, 1>,   // 8
                                                            InvertedResidual<6, 64, 1>,   // 9
                                                            InvertedResidual<6, 64, 1>,   // 10
                                                            InvertedResidual<6, 96, 1>,   // 11
                                                            InvertedResidual<6, 96, 1>,   // 12
                                                            InvertedResidual<6, 96, 1>,   // 13
                                                            InvertedResidual<6, 160, 2>,  // 14
                                                            InvertedResidual<6, 160, 1>,  // 15
                                                            InvertedResidual<6, 160, 1>,  // 16
                                                            InvertedResidual<6, 320, 1>,  // 17
                                                            ConvBNReLU6<1280, 1>>>,       // 18
                               GlobalAvgPool, Flatten,
                               Named<"classifier", Sequential<Dropout<20>, Linear<Classes>>>>;

}  // namespace strata::models
