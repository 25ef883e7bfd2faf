// GoogLeNet's (Inception v1's) blocks, exactly as torchvision defines them, with torchvision's
// parameter names.
//   BasicConv2d<Out, Kernel, Options...>: conv (no bias) -> BN (eps 0.001) -> ReLU, named
//     "conv" and "bn"; Options are Conv2d's (Stride<>, Pad<>, ...).
//   InceptionV1<C1, C3Reduce, C3, C5Reduce, C5, PoolProj>: four branches concatenated along
//     channels (C1 + C3 + C5 + PoolProj channels out, same height and width as the input):
//       branch1: BasicConv2d 1x1 (C1)
//       branch2: BasicConv2d 1x1 (C3Reduce) -> BasicConv2d 3x3 pad 1 (C3)
//       branch3: BasicConv2d 1x1 (C5Reduce) -> BasicConv2d 3x3 pad 1 (C5)
//       branch4: MaxPool2d 3, stride 1, pad 1, ceil -> BasicConv2d 1x1 (PoolProj)
//   InceptionAuxV1<Classes>: GoogLeNet's auxiliary classifier (aux1, aux2; for AuxiliaryHead).
#pragma once

#include "strata/containers/concat.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata {

// The bias is left out because the BatchNorm right after it would cancel it; eps 0.001 is
// torchvision's (ported from TensorFlow's weights), not PyTorch's default 1e-5. A class rather
// than an alias template, as are the Inception-v3 blocks: nvcc 13's front end cannot
// instantiate an alias template holding a string literal argument ("conv") and given a
// class-type one (Kernel{1, 7}), or one that holds such aliases ("'__T0' was not declared").
template <std::size_t Out, auto KernelSize, class... Options>
struct BasicConv2d : Sequential<Named<"conv", Conv2d<Out, KernelSize, Options..., NoBias>>,
                                Named<"bn", BatchNorm2d<Eps<1, 1000>>>, ReLU> {};

// The "5x5" branch (branch3) uses a 3x3 kernel: torchvision's known deviation from the paper
// (pytorch/vision issue 906), kept by torchvision for its pretrained weights. We follow
// torchvision so that its state_dict, parameter count and outputs match one to one.
template <std::size_t C1, std::size_t C3Reduce, std::size_t C3, std::size_t C5Reduce,
          std::size_t C5, std::size_t PoolProj>
using InceptionV1 =
    Concat<BasicConv2d<C1, 1>, Sequential<BasicConv2d<C3Reduce, 1>, BasicConv2d<C3, 3, Pad<1>>>,
           Sequential<BasicConv2d<C5Reduce, 1>, BasicConv2d<C5, 3, Pad<1>>>,
           Sequential<MaxPool2d<3, Stride<1>, Pad<1>, CeilMode>, BasicConv2d<PoolProj, 1>>>;

// torchvision's googlenet InceptionAux: the adaptive pooling to 4x4 fixes fc1's input at
// 128 * 4 * 4 = 2048 whatever the input size.
template <std::size_t Classes>
using InceptionAuxV1 = Sequential<AdaptiveAvgPool2d<4>,                           // Cx4x4
                                  Named<"conv", BasicConv2d<128, 1>>,             // 128x4x4
                                  Flatten,                                        // 2048
                                  Named<"fc1", Linear<1024>>, ReLU, Dropout<70>,  // 1024
                                  Named<"fc2", Linear<Classes>>>;                 // Classes

}  // namespace strata
