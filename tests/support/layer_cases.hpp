// The list of bound layers and blocks that the backend column of the conformance harness runs
// on every backend (test_backend_conformance.cpp). A new layer or block adds its cases here:
// every option it has that changes the kernels' index arithmetic, on small odd shapes.
#pragma once

#include <strata/strata.hpp>

#include "strata/blocks/inception.hpp"
#include "strata/blocks/inception_v3.hpp"
#include "strata/blocks/mobilenet.hpp"
#include "strata/blocks/resnet.hpp"
#include "strata/blocks/squeeze_excite.hpp"
#include "strata/layers/stochastic_depth.hpp"
#include "strata/models/efficientnet.hpp"

namespace strata::test {

template <class... Layers>
struct layer_list {};

namespace cases {
using strata::Shape;
using tiny_head = Sequential<GlobalAvgPool, Flatten, Linear<3>>;
}  // namespace cases

using layer_cases = layer_list<
    // Convolution: plain, strided without bias, grouped, depthwise (strided and not),
    // rectangular, dilated, the CPU's direct path, 1x1 with and without im2col.
    Conv2d<4, 3, Pad<1>>::bind<Shape<3, 7, 7>>,                        //
    Conv2d<5, 3, Stride<2>, NoBias>::bind<Shape<4, 9, 8>>,             //
    Conv2d<6, 3, Pad<1>, Groups<2>>::bind<Shape<4, 6, 6>>,             //
    Conv2d<4, 3, Stride<2>, Pad<1>, Groups<4>>::bind<Shape<4, 7, 7>>,  //
    Conv2d<6, 3, Pad<1>, Groups<6>>::bind<Shape<6, 8, 8>>,             //
    Conv2d<4, 5, Stride<2>, Pad<2>, Groups<4>, NoBias>::bind<Shape<4, 9, 9>>,
    Conv2d<6, 3, Pad<1>, Groups<6>, NoBias>::bind<Shape<6, 2, 2>>,     //
    Conv2d<5, 3, Stride<2>, Pad<1>, Groups<5>>::bind<Shape<5, 4, 4>>,  //
    Conv2d<4, 3, Pad<1>>::bind<Shape<3, 2, 2>>,                        //
    Conv2d<4, Kernel{1, 7}, Pad<0, 3>>::bind<Shape<3, 6, 9>>,          //
    Conv2d<3, Kernel{3, 2}, Stride<2, 1>, Pad<1, 0>, Dilation<2>>::bind<Shape<2, 9, 7>>,
    Conv2d<20, 3, Pad<1>>::bind<Shape<10, 9, 11>>,  //
    Conv2d<8, 1>::bind<Shape<4, 5, 5>>,             //
    Conv2d<8, 1, Stride<2>>::bind<Shape<4, 6, 6>>,  //
    // Fully connected, activations, softmax, flatten.
    Linear<7>::bind<Shape<12>>, Linear<5, NoBias>::bind<Shape<6>>,  //
    ReLU::bind<Shape<3, 4, 4>>, ReLU6::bind<Shape<40>>, SiLU::bind<Shape<2, 3, 5>>,
    Sigmoid::bind<Shape<2, 3, 3>>, Tanh::bind<Shape<17>>, Softmax::bind<Shape<10>>,
    Hardswish::bind<Shape<3, 4, 4>>, Hardsigmoid::bind<Shape<2, 3, 5>>,
    Flatten::bind<Shape<2, 3, 3>>,
    // Pooling: tiling and overlapping windows, padding, ceil mode, adaptive up and down.
    MaxPool2d<2>::bind<Shape<3, 6, 6>>, MaxPool2d<3, Stride<2>>::bind<Shape<2, 7, 7>>,
    MaxPool2d<3, Stride<2>, Pad<1>>::bind<Shape<2, 6, 6>>,
    MaxPool2d<3, Stride<2>, CeilMode>::bind<Shape<2, 8, 8>>,
    MaxPool2d<Kernel{2, 3}, Stride<1, 2>>::bind<Shape<2, 5, 7>>,  //
    AvgPool2d<2>::bind<Shape<3, 6, 6>>, AvgPool2d<3, Stride<1>, Pad<1>>::bind<Shape<2, 5, 5>>,
    AvgPool2d<3, Stride<2>, Pad<1>, CeilMode>::bind<Shape<2, 6, 6>>,
    GlobalAvgPool::bind<Shape<3, 4, 5>>, AdaptiveAvgPool2d<3>::bind<Shape<2, 7, 7>>,
    AdaptiveAvgPool2d<4, 3>::bind<Shape<2, 2, 5>>,  //
    ZeroPad2d<0, 1, 0, 1>::bind<Shape<3, 4, 6>>, ZeroPad2d<1, 2, 3, 0>::bind<Shape<2, 3, 5>>,
    // Normalisation and regularisation.
    LocalResponseNorm<3>::bind<Shape<5, 4, 4>>, LocalResponseNorm<4>::bind<Shape<6, 2, 3>>,
    BatchNorm2d<>::bind<Shape<3, 5, 5>>, BatchNorm2d<>::bind<Shape<6>>,  //
    Dropout<30>::bind<Shape<20>>, StochasticDepth<20>::bind<Shape<3, 4, 4>>,
    // Containers and blocks.
    BasicBlock<8, 2>::bind<Shape<4, 8, 8>>, Bottleneck<4, 1>::bind<Shape<8, 5, 5>>,
    Residual<Sequential<Conv2d<2, 3, Pad<1>>>, Identity, ReLU>::bind<Shape<2, 4, 4>>,
    Concat<Conv2d<2, 1>, Sequential<Conv2d<3, 3, Pad<1>>, ReLU>,
           MaxPool2d<3, Stride<1>, Pad<1>>>::bind<Shape<2, 5, 5>>,
    InceptionV1<2, 2, 3, 1, 2, 2>::bind<Shape<3, 6, 6>>,  //
    InceptionA<2, 1, 2, 2, 3, 4>::bind<Shape<5, 5, 5>>, InceptionD<2, 3, 2>::bind<Shape<3, 7, 7>>,
    InceptionE<2, 2, 3, 1>::bind<Shape<3, 3, 3>>,  //
    SqueezeExcite<4>::bind<Shape<8, 3, 3>>, SqueezeExciteTo<2, SiLU>::bind<Shape<8, 4, 3>>,
    InvertedResidual<6, 4, 1>::bind<Shape<4, 5, 5>>,
    InvertedResidual<1, 6, 2>::bind<Shape<4, 6, 6>>,
    InvertedResidualV3<3, 8, 4, true, Hardswish, 1>::bind<Shape<4, 5, 5>>,
    InvertedResidualV3<5, 6, 6, true, ReLU, 2>::bind<Shape<6, 6, 6>>,
    MBConv<4, 3, 1, 8, 8, StochasticDepth<1, 3>>::bind<Shape<8, 5, 5>>,
    MBConv<6, 5, 2, 4, 6>::bind<Shape<4, 7, 7>>,  //
    AuxiliaryHead<cases::tiny_head>::bind<Shape<3, 4, 4>>>;

// Layers whose batch statistics or windows behave differently at batch 1 and 2.
using small_batch_cases =
    layer_list<BatchNorm2d<>::bind<Shape<3, 2, 3>>, MaxPool2d<3, Stride<2>>::bind<Shape<2, 7, 7>>,
               Conv2d<3, 3, Pad<1>>::bind<Shape<2, 4, 4>>, Linear<3>::bind<Shape<5>>>;

}  // namespace strata::test
