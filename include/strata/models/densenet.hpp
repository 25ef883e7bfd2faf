// DenseNet-121 and DenseNet-169 as torchvision builds them with torchvision.models.densenet121()
// and densenet169() (growth 32, bn_size 4, 64 initial features): same layers, same parameter
// names (features.denseblock1.denselayer1.norm1.weight, ...), same parameter counts (7,978,856
// and 14,149,480 at 1000 classes) and multiply-accumulates (checked at compile time in
// tests/test_zoo.cpp), so torchvision's checkpoints load.
//   using Net = st::models::DenseNet121<1000>;                     // 3x224x224 input
//   using Small = st::models::DenseNet121<10, st::Input<3, 64, 64>>;
#pragma once

#include <cstddef>

#include "strata/blocks/dense.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata::models {

namespace detail {

// torchvision's DenseNet(growth_rate=32, block_config=(L1, L2, L3, L4), num_init_features=64,
// bn_size=4): each transition halves the channels.
template <std::size_t Classes, class In, std::size_t L1, std::size_t L2, std::size_t L3,
          std::size_t L4>
struct densenet {
  static constexpr std::size_t growth = 32, c0 = 64;
  static constexpr std::size_t c1 = (c0 + L1 * growth) / 2;
  static constexpr std::size_t c2 = (c1 + L2 * growth) / 2;
  static constexpr std::size_t c3 = (c2 + L3 * growth) / 2;
  using type = Sequential<
      In,
      Named<"features",
            Sequential<
                Named<"conv0", Conv2d<c0, 7, Stride<2>, Pad<3>, NoBias>>,
                Named<"norm0", BatchNorm2d<>>, ReLU, MaxPool2d<3, Stride<2>, Pad<1>>,
                Named<"denseblock1", DenseBlock<L1, growth>>, Named<"transition1", Transition<c1>>,
                Named<"denseblock2", DenseBlock<L2, growth>>, Named<"transition2", Transition<c2>>,
                Named<"denseblock3", DenseBlock<L3, growth>>, Named<"transition3", Transition<c3>>,
                Named<"denseblock4", DenseBlock<L4, growth>>, Named<"norm5", BatchNorm2d<>>>>,
      ReLU, GlobalAvgPool, Flatten, Named<"classifier", Linear<Classes>>>;
};

}  // namespace detail

template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using DenseNet121 = typename detail::densenet<Classes, In, 6, 12, 24, 16>::type;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using DenseNet169 = typename detail::densenet<Classes, In, 6, 12, 32, 32>::type;

}  // namespace strata::models
