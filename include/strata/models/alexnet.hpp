// AlexNet as torchvision builds it (the one-GPU variant of "One weird trick", without LRN): same
// layers, same parameter names, same parameter count and multiply-accumulates (checked at
// compile time in tests/test_zoo_classic.cpp).
//   using Net = st::models::AlexNet<>;                          // 3x224x224 input
//   using Small = st::models::AlexNet<10, st::Input<3, 96, 96>>;
#pragma once

#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/lrn.hpp"
#include "strata/layers/pooling.hpp"

namespace strata::models {

// The adaptive pooling to 6x6 lets inputs other than 224x224 reach the same classifier; the
// smallest input is 63x63, below which the last max-pooling has no full window.
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using AlexNet = Sequential<In,
                           Named<"features", Sequential<Conv2d<64, 11, Stride<4>, Pad<2>>, ReLU,  //
                                                        MaxPool2d<3, Stride<2>>,                  //
                                                        Conv2d<192, 5, Pad<2>>, ReLU,             //
                                                        MaxPool2d<3, Stride<2>>,                  //
                                                        Conv2d<384, 3, Pad<1>>, ReLU,             //
                                                        Conv2d<256, 3, Pad<1>>, ReLU,             //
                                                        Conv2d<256, 3, Pad<1>>, ReLU,             //
                                                        MaxPool2d<3, Stride<2>>>>,
                           Named<"avgpool", AdaptiveAvgPool2d<6>>, Flatten,
                           Named<"classifier", Sequential<Dropout<50>, Linear<4096>, ReLU,  //
                                                          Dropout<50>, Linear<4096>, ReLU,  //
                                                          Linear<Classes>>>>;

// AlexNet as the 2012 paper describes it (Krizhevsky, Sutskever, Hinton; the seed's summary):
// local response normalisation after the first two convolutions, and the two-GPU split kept as
// groups of 2 in conv2, conv4 and conv5 (kernels there see only their own GPU's feature maps).
// Input 227x227 (the paper's 224 does not divide evenly with stride 4); 60,965,224 parameters.
template <std::size_t Classes = 1000, class In = Input<3, 227, 227>>
using AlexNetPaper = Sequential<
    In,
    Named<"features", Sequential<Conv2d<96, 11, Stride<4>>, ReLU, LocalResponseNorm<5>,  //
                                 MaxPool2d<3, Stride<2>>,                                //
                                 Conv2d<256, 5, Pad<2>, Groups<2>>, ReLU, LocalResponseNorm<5>,
                                 MaxPool2d<3, Stride<2>>,                  //
                                 Conv2d<384, 3, Pad<1>>, ReLU,             //
                                 Conv2d<384, 3, Pad<1>, Groups<2>>, ReLU,  //
                                 Conv2d<256, 3, Pad<1>, Groups<2>>, ReLU,  //
                                 MaxPool2d<3, Stride<2>>>>,
    Flatten,
    Named<"classifier", Sequential<Dropout<50>, Linear<4096>, ReLU,  //
                                   Dropout<50>, Linear<4096>, ReLU,  //
                                   Linear<Classes>>>>;

}  // namespace strata::models
