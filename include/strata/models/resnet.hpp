// ResNet-18/34/50/101/152, ResNeXt-50 32x4d and Wide ResNet-50-2 as torchvision builds them, and
// SE-ResNet-50: same layers, same parameter names, same parameter counts and multiply-accumulates
// (checked at compile time in tests/test_zoo.cpp).
//   using Net = st::models::ResNet50<1000>;                     // 3x224x224 input
//   using Small = st::models::ResNet18<10, st::Input<3, 64, 64>>;
//   using Grouped = st::models::ResNeXt50_32x4d<>;              // 32 groups of 4 channels
#pragma once

#include "strata/blocks/resnet.hpp"
#include "strata/containers/repeat.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata::models {

// Stem, four stages of Block (the first block of stages 2-4 halves the resolution), global
// average pooling and the classifier.
template <template <std::size_t, std::size_t> class Block, std::size_t N1, std::size_t N2,
          std::size_t N3, std::size_t N4, std::size_t Classes, class In>
using ResNet = Sequential<In,                                                        //
                          Named<"conv1", Conv2d<64, 7, Stride<2>, Pad<3>, NoBias>>,  //
                          Named<"bn1", BatchNorm2d<>>, ReLU,                         //
                          MaxPool2d<3, Stride<2>, Pad<1>>,                           //
                          Named<"layer1", Stage<N1, Block<64, 1>, Block<64, 1>>>,    //
                          Named<"layer2", Stage<N2, Block<128, 2>, Block<128, 1>>>,  //
                          Named<"layer3", Stage<N3, Block<256, 2>, Block<256, 1>>>,  //
                          Named<"layer4", Stage<N4, Block<512, 2>, Block<512, 1>>>,  //
                          GlobalAvgPool, Flatten, Named<"fc", Linear<Classes>>>;

template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using ResNet18 = ResNet<BasicBlock, 2, 2, 2, 2, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using ResNet34 = ResNet<BasicBlock, 3, 4, 6, 3, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using ResNet50 = ResNet<Bottleneck, 3, 4, 6, 3, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using ResNet101 = ResNet<Bottleneck, 3, 4, 23, 3, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using ResNet152 = ResNet<Bottleneck, 3, 8, 36, 3, Classes, In>;

// ResNeXt-50 32x4d (Xie et al.): ResNet-50 whose bottleneck 3x3 convolutions have 32 groups of
// 4 * Planes / 64 channels (torchvision's groups=32, width_per_group=4).
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using ResNeXt50_32x4d = ResNet<GroupedBottleneck<32, 4>::block, 3, 4, 6, 3, Classes, In>;
// Wide ResNet-50-2 (Zagoruyko and Komodakis): ResNet-50 with bottlenecks twice as wide inside
// (width_per_group=128); the blocks' outputs keep ResNet-50's channels.
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using WideResNet50_2 = ResNet<GroupedBottleneck<1, 128>::block, 3, 4, 6, 3, Classes, In>;

// SE-ResNet-50 (Hu et al.): ResNet-50 with squeeze-and-excitation in every bottleneck. No
// torchvision model exists; 28,088,024 parameters with reduction 16.
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using SEResNet50 = ResNet<SEBottleneck, 3, 4, 6, 3, Classes, In>;

}  // namespace strata::models
