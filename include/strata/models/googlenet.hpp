// GoogLeNet (Inception v1) as torchvision builds it with
// torchvision.models.googlenet(aux_logits=False, transform_input=False): same layers, same
// parameter names, same parameter count (6,624,904 at 1000 classes) and multiply-accumulates
// (checked at compile time in tests/test_inception.cpp).
//   using Net = st::models::GoogLeNet<1000>;                     // 3x224x224 input
//
// Not supported:
// - The auxiliary classifiers (aux1 after inception4a, aux2 after inception4d): a strata network
//   is a chain with one output, and the heads only add to the training loss. torchvision drops
//   them too in eval mode and with aux_logits=False, the configuration matched here.
// - transform_input (re-normalising ImageNet inputs for the ported TensorFlow weights): apply
//   that normalisation to the data instead.
// The 3x3 kernel of the "5x5" branch is torchvision's; see strata/inception.hpp.
#pragma once

#include "strata/dropout.hpp"
#include "strata/flatten.hpp"
#include "strata/inception.hpp"
#include "strata/linear.hpp"
#include "strata/named.hpp"
#include "strata/pooling.hpp"
#include "strata/sequential.hpp"

namespace strata::models {

template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using GoogLeNet = Sequential<In,                                                     //
                             Named<"conv1", BasicConv2d<64, 7, Stride<2>, Pad<3>>>,  //
                             MaxPool2d<3, Stride<2>, CeilMode>,                      // maxpool1
                             Named<"conv2", BasicConv2d<64, 1>>,                     //
                             Named<"conv3", BasicConv2d<192, 3, Pad<1>>>,            //
                             MaxPool2d<3, Stride<2>, CeilMode>,                      // maxpool2
                             Named<"inception3a", InceptionV1<64, 96, 128, 16, 32, 32>>,    //
                             Named<"inception3b", InceptionV1<128, 128, 192, 32, 96, 64>>,  //
                             MaxPool2d<3, Stride<2>, CeilMode>,  // maxpool3
                             Named<"inception4a", InceptionV1<192, 96, 208, 16, 48, 64>>,     //
                             Named<"inception4b", InceptionV1<160, 112, 224, 24, 64, 64>>,    //
                             Named<"inception4c", InceptionV1<128, 128, 256, 24, 64, 64>>,    //
                             Named<"inception4d", InceptionV1<112, 144, 288, 32, 64, 64>>,    //
                             Named<"inception4e", InceptionV1<256, 160, 320, 32, 128, 128>>,  //
                             MaxPool2d<2, Stride<2>, CeilMode>,  // maxpool4
                             Named<"inception5a", InceptionV1<256, 160, 320, 32, 128, 128>>,  //
                             Named<"inception5b", InceptionV1<384, 192, 384, 48, 128, 128>>,  //
                             GlobalAvgPool, Flatten, Dropout<20>, Named<"fc", Linear<Classes>>>;

}  // namespace strata::models
