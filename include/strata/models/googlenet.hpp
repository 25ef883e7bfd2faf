// GoogLeNet (Inception v1) as torchvision builds it with
// torchvision.models.googlenet(aux_logits=AuxLogits, transform_input=False): same layers, same
// parameter names, same parameter count (6,624,904 at 1000 classes; 13,004,888 with the
// auxiliary classifiers) and multiply-accumulates (checked at compile time in
// tests/test_inception.cpp).
//   using Net = st::models::GoogLeNet<1000>;                     // 3x224x224 input
//   using WithAux = st::models::GoogLeNet<1000, st::Input<3, 224, 224>, true>;
//
// With AuxLogits the auxiliary classifiers aux1 (after inception4a) and aux2 (after inception4d)
// are AuxiliaryHead layers: in training, Model::auxiliary_outputs() gives their logits for
// torchvision's loss main + 0.3 * (aux1 + aux2) (strata/containers/auxiliary.hpp); `macs` stays the
// main path's, torchvision's published figure. Their parameters come in network order (aux1 after
// inception4a), where torchvision's state_dict lists them after inception5b; names and shapes
// are the same, and a state_dict maps tensors by name.
//
// Not supported: transform_input (re-normalising ImageNet inputs for the ported TensorFlow
// weights): apply that normalisation to the data instead.
// The 3x3 kernel of the "5x5" branch is torchvision's; see strata/blocks/inception.hpp.
#pragma once

#include "strata/blocks/inception.hpp"
#include "strata/containers/auxiliary.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata::models {

template <std::size_t Classes = 1000, class In = Input<3, 224, 224>, bool AuxLogits = false>
using GoogLeNet = SequentialOf<
    LayerList<In,                                                            //
              Named<"conv1", BasicConv2d<64, 7, Stride<2>, Pad<3>>>,         // 64x112x112
              MaxPool2d<3, Stride<2>, CeilMode>,                             // maxpool1, 64x56x56
              Named<"conv2", BasicConv2d<64, 1>>,                            // 64x56x56
              Named<"conv3", BasicConv2d<192, 3, Pad<1>>>,                   // 192x56x56
              MaxPool2d<3, Stride<2>, CeilMode>,                             // maxpool2, 192x28x28
              Named<"inception3a", InceptionV1<64, 96, 128, 16, 32, 32>>,    // 256x28x28
              Named<"inception3b", InceptionV1<128, 128, 192, 32, 96, 64>>,  // 480x28x28
              MaxPool2d<3, Stride<2>, CeilMode>,                             // maxpool3, 480x14x14
              Named<"inception4a", InceptionV1<192, 96, 208, 16, 48, 64>>>,  // 512x14x14
    LayersIf<AuxLogits, Named<"aux1", AuxiliaryHead<InceptionAuxV1<Classes>>>>,  // 512x14x14
    LayerList<Named<"inception4b", InceptionV1<160, 112, 224, 24, 64, 64>>,      // 512x14x14
              Named<"inception4c", InceptionV1<128, 128, 256, 24, 64, 64>>,      // 512x14x14
              Named<"inception4d", InceptionV1<112, 144, 288, 32, 64, 64>>>,     // 528x14x14
    LayersIf<AuxLogits, Named<"aux2", AuxiliaryHead<InceptionAuxV1<Classes>>>>,  // 528x14x14
    LayerList<Named<"inception4e", InceptionV1<256, 160, 320, 32, 128, 128>>,    // 832x14x14
              MaxPool2d<2, Stride<2>, CeilMode>,                               // maxpool4, 832x7x7
              Named<"inception5a", InceptionV1<256, 160, 320, 32, 128, 128>>,  // 832x7x7
              Named<"inception5b", InceptionV1<384, 192, 384, 48, 128, 128>>,  // 1024x7x7
              GlobalAvgPool, Flatten, Dropout<20>,                             // 1024
              Named<"fc", Linear<Classes>>>>;                                  // Classes

}  // namespace strata::models
