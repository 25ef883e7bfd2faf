// Inception-v3's blocks, exactly as torchvision defines them (torchvision.models.inception), with
// torchvision's parameter names. Every convolution is a BasicConv2d (conv without bias -> BN eps
// 0.001 -> ReLU; strata/blocks/inception.hpp). torchvision's blocks hold each branch's convolutions
// as their own direct children ("branch5x5_1", "branch5x5_2"), so the branches here are Unprefixed
// and their layers Named. Widths are template parameters (torchvision fixes most of them) so that
// a block can be tested at reduced width; the values in comments are torchvision's.
//   InceptionA<C1, C5Reduce, C5, C3Reduce, C3, PoolProj>  (64, 48, 64, 64, 96, pool_features)
//     1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg 3x3 s1 p1 -> 1x1; same height and width.
//   InceptionB<C3, C3Reduce, C3dbl>  (384, 64, 96)
//     3x3 s2 | 1x1 -> 3x3 -> 3x3 s2 | max 3x3 s2; halves height and width.
//   InceptionC<C1, C7, C7Out, PoolProj>  (192, channels_7x7, 192, 192)
//     1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7 | avg -> 1x1.
//   InceptionD<C3Reduce, C3, C7>  (192, 320, 192)
//     1x1 -> 3x3 s2 | 1x1 -> 1x7 -> 7x1 -> 3x3 s2 | max 3x3 s2.
//   InceptionE<C1, C3, C3dblReduce, PoolProj>  (320, 384, 448, 192)
//     1x1 | 1x1 -> (1x3 | 3x1) | 1x1 -> 3x3 -> (1x3 | 3x1) | avg -> 1x1; the parenthesised
//     pairs see the same input and are concatenated, so each gives 2 * C3 channels.
//   InceptionAuxV3<Classes>: the AuxLogits head after Mixed_6e (for AuxiliaryHead).
#pragma once

#include "strata/blocks/inception.hpp"
#include "strata/containers/concat.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/core/options.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata {

// Each branch is spelled Named<"name", BasicConv2d<...>> and each block is a class, not an alias
// template: nvcc 13's front end cannot instantiate alias templates that hold string literal
// arguments and are given constant ones (see BasicConv2d), and the CUDA backend compiles these.

namespace detail {
// torchvision's F.avg_pool2d(x, kernel_size=3, stride=1, padding=1): padding counted in the mean.
template <std::size_t PoolProj>
using v3_pool_branch = Unprefixed<
    Sequential<AvgPool2d<3, Stride<1>, Pad<1>>, Named<"branch_pool", BasicConv2d<PoolProj, 1>>>>;
}  // namespace detail

template <std::size_t C1, std::size_t C5Reduce, std::size_t C5, std::size_t C3Reduce,
          std::size_t C3, std::size_t PoolProj>
struct InceptionA
    : Concat<Named<"branch1x1", BasicConv2d<C1, 1>>,  // C1
             Unprefixed<Sequential<Named<"branch5x5_1", BasicConv2d<C5Reduce, 1>>,
                                   Named<"branch5x5_2", BasicConv2d<C5, 5, Pad<2>>>>>,  // C5
             Unprefixed<Sequential<Named<"branch3x3dbl_1", BasicConv2d<C3Reduce, 1>>,
                                   Named<"branch3x3dbl_2", BasicConv2d<C3, 3, Pad<1>>>,
                                   Named<"branch3x3dbl_3", BasicConv2d<C3, 3, Pad<1>>>>>,  // C3
             detail::v3_pool_branch<PoolProj>> {};  // PoolProj

template <std::size_t C3, std::size_t C3Reduce, std::size_t C3dbl>
struct InceptionB
    : Concat<Named<"branch3x3", BasicConv2d<C3, 3, Stride<2>>>,  // C3
             Unprefixed<
                 Sequential<Named<"branch3x3dbl_1", BasicConv2d<C3Reduce, 1>>,
                            Named<"branch3x3dbl_2", BasicConv2d<C3dbl, 3, Pad<1>>>,
                            Named<"branch3x3dbl_3", BasicConv2d<C3dbl, 3, Stride<2>>>>>,  // C3dbl
             MaxPool2d<3, Stride<2>>> {};                                                 // in

template <std::size_t C1, std::size_t C7, std::size_t C7Out, std::size_t PoolProj>
struct InceptionC
    : Concat<Named<"branch1x1", BasicConv2d<C1, 1>>,  // C1
             Unprefixed<Sequential<
                 Named<"branch7x7_1", BasicConv2d<C7, 1>>,
                 Named<"branch7x7_2", BasicConv2d<C7, Kernel{1, 7}, Pad<0, 3>>>,
                 Named<"branch7x7_3", BasicConv2d<C7Out, Kernel{7, 1}, Pad<3, 0>>>>>,  // C7Out
             Unprefixed<Sequential<
                 Named<"branch7x7dbl_1", BasicConv2d<C7, 1>>,
                 Named<"branch7x7dbl_2", BasicConv2d<C7, Kernel{7, 1}, Pad<3, 0>>>,
                 Named<"branch7x7dbl_3", BasicConv2d<C7, Kernel{1, 7}, Pad<0, 3>>>,
                 Named<"branch7x7dbl_4", BasicConv2d<C7, Kernel{7, 1}, Pad<3, 0>>>,
                 Named<"branch7x7dbl_5", BasicConv2d<C7Out, Kernel{1, 7}, Pad<0, 3>>>>>,  // C7Out
             detail::v3_pool_branch<PoolProj>> {};  // PoolProj

template <std::size_t C3Reduce, std::size_t C3, std::size_t C7>
struct InceptionD
    : Concat<Unprefixed<Sequential<Named<"branch3x3_1", BasicConv2d<C3Reduce, 1>>,
                                   Named<"branch3x3_2", BasicConv2d<C3, 3, Stride<2>>>>>,  // C3
             Unprefixed<Sequential<Named<"branch7x7x3_1", BasicConv2d<C7, 1>>,
                                   Named<"branch7x7x3_2", BasicConv2d<C7, Kernel{1, 7}, Pad<0, 3>>>,
                                   Named<"branch7x7x3_3", BasicConv2d<C7, Kernel{7, 1}, Pad<3, 0>>>,
                                   Named<"branch7x7x3_4", BasicConv2d<C7, 3, Stride<2>>>>>,  // C7
             MaxPool2d<3, Stride<2>>> {};                                                    // in

template <std::size_t C1, std::size_t C3, std::size_t C3dblReduce, std::size_t PoolProj>
struct InceptionE
    : Concat<
          Named<"branch1x1", BasicConv2d<C1, 1>>,  // C1
          Unprefixed<Sequential<
              Named<"branch3x3_1", BasicConv2d<C3, 1>>,
              Unprefixed<Concat<
                  Named<"branch3x3_2a", BasicConv2d<C3, Kernel{1, 3}, Pad<0, 1>>>,
                  Named<"branch3x3_2b", BasicConv2d<C3, Kernel{3, 1}, Pad<1, 0>>>>>>>,  // 2*C3
          Unprefixed<Sequential<
              Named<"branch3x3dbl_1", BasicConv2d<C3dblReduce, 1>>,
              Named<"branch3x3dbl_2", BasicConv2d<C3, 3, Pad<1>>>,
              Unprefixed<Concat<
                  Named<"branch3x3dbl_3a", BasicConv2d<C3, Kernel{1, 3}, Pad<0, 1>>>,
                  Named<"branch3x3dbl_3b", BasicConv2d<C3, Kernel{3, 1}, Pad<1, 0>>>>>>>,  // 2*C3
          detail::v3_pool_branch<PoolProj>> {};  // PoolProj

// torchvision's InceptionAux for Inception-v3, on Mixed_6e's 768x17x17: avg_pool2d(5, stride 3)
// then two BasicConv2d and the classifier (torchvision's conv1 stddev 0.01 and fc stddev 0.001
// initialisation is not reproduced: PyTorch's default init is used, as everywhere in strata).
template <std::size_t Classes>
using InceptionAuxV3 = Sequential<AvgPool2d<5, Stride<3>>,              // 768x5x5
                                  Named<"conv0", BasicConv2d<128, 1>>,  // 128x5x5
                                  Named<"conv1", BasicConv2d<768, 5>>,  // 768x1x1
                                  GlobalAvgPool, Flatten,               // 768
                                  Named<"fc", Linear<Classes>>>;        // Classes

}  // namespace strata
