// ZFNet (Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", 2013, the
// network of their figure 3): AlexNet with a 7x7 stride-2 first layer instead of 11x11 stride 4,
// a stride-2 second layer, 384/384/256 filters in layers 3-5, and no two-GPU groups. Input
// 224x224; 62,357,608 parameters and 1,168,032,896 MACs at 1000 classes (counted by hand in
// tests/test_zoo_classic.cpp; there is no torchvision model).
//   using Net = st::models::ZFNet<>;                            // 3x224x224 input
//   using Small = st::models::ZFNet<10, st::Input<3, 99, 99>>;
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

// The paper's sizes (110 -> 55, 26 -> 13) need ceil-mode pooling, Caffe's rule at the time;
// "contrast normalisation across feature maps" is AlexNet's local response normalisation.
// Pad 1 on conv1 gives the paper's 110x110 from 224 (floor((224 + 2 - 7) / 2) + 1).
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using ZFNet =
    Sequential<In,
               Named<"features", Sequential<Conv2d<96, 7, Stride<2>, Pad<1>>, ReLU,  // 96x110x110
                                            MaxPool2d<3, Stride<2>, CeilMode>,       // 96x55x55
                                            LocalResponseNorm<5>,                    //
                                            Conv2d<256, 5, Stride<2>>, ReLU,         // 256x26x26
                                            MaxPool2d<3, Stride<2>, CeilMode>,       // 256x13x13
                                            LocalResponseNorm<5>,                    //
                                            Conv2d<384, 3, Pad<1>>, ReLU,            // 384x13x13
                                            Conv2d<384, 3, Pad<1>>, ReLU,            // 384x13x13
                                            Conv2d<256, 3, Pad<1>>, ReLU,            // 256x13x13
                                            MaxPool2d<3, Stride<2>, CeilMode>>>,     // 256x6x6
               Flatten,                                                              // 9216
               Named<"classifier", Sequential<Linear<4096>, ReLU, Dropout<50>,       // 4096
                                              Linear<4096>, ReLU, Dropout<50>,       // 4096
                                              Linear<Classes>>>>;                    // Classes

}  // namespace strata::models
