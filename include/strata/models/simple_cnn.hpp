// SimpleCNN, the Fashion-MNIST network of the seed report: two 3x3 convolutions with ReLU and
// 2x2 max-pooling, then a 128-unit hidden layer.
#pragma once

#include "strata/containers/sequential.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata::models {

template <std::size_t Classes = 10, class In = Input<1, 28, 28>>
using SimpleCNN = Sequential<In,                                         //
                             Conv2d<32, 3, Pad<1>>, ReLU, MaxPool2d<2>,  //
                             Conv2d<64, 3, Pad<1>>, ReLU, MaxPool2d<2>,  //
                             Flatten, Linear<128>, ReLU, Linear<Classes>>;

static_assert(SimpleCNN<>::parameter_count == 421'642);
static_assert(SimpleCNN<>::macs == 4'241'152);

}  // namespace strata::models
