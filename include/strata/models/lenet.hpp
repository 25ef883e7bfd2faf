// LeNet-5 (LeCun et al., 1998) in its common modern form: 5x5 convolutions with tanh, 2x2
// average pooling (the paper's trainable subsampling without its coefficients), every C3 map
// connected to every S2 map, and a 120-84-10 classifier. Input 1x32x32 (MNIST padded by 2);
// 61,706 parameters.
#pragma once

#include "strata/containers/sequential.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata::models {

template <std::size_t Classes = 10, class In = Input<1, 32, 32>>
using LeNet5 = Sequential<In,                                 //
                          Conv2d<6, 5>, Tanh, AvgPool2d<2>,   // 6x14x14
                          Conv2d<16, 5>, Tanh, AvgPool2d<2>,  // 16x5x5
                          Flatten, Linear<120>, Tanh, Linear<84>, Tanh, Linear<Classes>>;

}  // namespace strata::models
