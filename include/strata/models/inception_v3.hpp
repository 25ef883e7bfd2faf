// Inception-v3 as torchvision builds it with torchvision.models.inception_v3(aux_logits=AuxLogits,
// transform_input=False, init_weights=False): same layers, same parameter names, same parameter
// count (23,834,568 at 1000 classes; 27,161,264 with the AuxLogits head) and multiply-accumulates
// of the main path (checked at compile time in tests/test_inception_v3.cpp). Input 3x299x299.
//   using Net = st::models::InceptionV3<>;
//   using WithAux = st::models::InceptionV3<1000, st::Input<3, 299, 299>, true>;
//
// With AuxLogits the auxiliary classifier after Mixed_6e is an AuxiliaryHead: in training,
// Model::auxiliary_outputs() gives its logits (strata/containers/auxiliary.hpp); `macs` stays the
// main path's. Not supported: transform_input (apply that normalisation to the data instead).
#pragma once

#include "strata/blocks/inception_v3.hpp"
#include "strata/containers/auxiliary.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata::models {

template <std::size_t Classes = 1000, class In = Input<3, 299, 299>, bool AuxLogits = false>
using InceptionV3 = SequentialOf<
    LayerList<In,                                                     //
              Named<"Conv2d_1a_3x3", BasicConv2d<32, 3, Stride<2>>>,  // 32x149x149
              Named<"Conv2d_2a_3x3", BasicConv2d<32, 3>>,             // 32x147x147
              Named<"Conv2d_2b_3x3", BasicConv2d<64, 3, Pad<1>>>,     // 64x147x147
              MaxPool2d<3, Stride<2>>,                                // maxpool1, 64x73x73
              Named<"Conv2d_3b_1x1", BasicConv2d<80, 1>>,             // 80x73x73
              Named<"Conv2d_4a_3x3", BasicConv2d<192, 3>>,            // 192x71x71
              MaxPool2d<3, Stride<2>>,                                // maxpool2, 192x35x35
              Named<"Mixed_5b", InceptionA<64, 48, 64, 64, 96, 32>>,  // 256x35x35
              Named<"Mixed_5c", InceptionA<64, 48, 64, 64, 96, 64>>,  // 288x35x35
              Named<"Mixed_5d", InceptionA<64, 48, 64, 64, 96, 64>>,  // 288x35x35
              Named<"Mixed_6a", InceptionB<384, 64, 96>>,             // 768x17x17
              Named<"Mixed_6b", InceptionC<192, 128, 192, 192>>,      // 768x17x17
              Named<"Mixed_6c", InceptionC<192, 160, 192, 192>>,      // 768x17x17
              Named<"Mixed_6d", InceptionC<192, 160, 192, 192>>,      // 768x17x17
              Named<"Mixed_6e", InceptionC<192, 192, 192, 192>>>,     // 768x17x17
    LayersIf<AuxLogits, Named<"AuxLogits", AuxiliaryHead<InceptionAuxV3<Classes>>>>,  // 768x17x17
    LayerList<Named<"Mixed_7a", InceptionD<192, 320, 192>>,                           // 1280x8x8
              Named<"Mixed_7b", InceptionE<320, 384, 448, 192>>,                      // 2048x8x8
              Named<"Mixed_7c", InceptionE<320, 384, 448, 192>>,                      // 2048x8x8
              GlobalAvgPool, Flatten, Dropout<50>,                                    // 2048
              Named<"fc", Linear<Classes>>>>;                                         // Classes

}  // namespace strata::models
