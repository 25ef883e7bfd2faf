// DenseNet's blocks, exactly as torchvision defines them (memory_efficient=False), with its
// parameter names.
//   DenseLayer<Growth, BnSize>: torchvision's _DenseLayer: BN -> ReLU -> conv 1x1 to
//     BnSize * Growth -> BN -> ReLU -> conv 3x3 pad 1 to Growth (no biases), named norm1, conv1,
//     norm2, conv2; Growth channels out.
//   DenseBlock<Layers, Growth, BnSize>: torchvision's _DenseBlock: layer l sees the
//     concatenation of the block's input and the outputs of layers 1 .. l-1, in that channel
//     order (torch.cat(features, 1)); out: the input's channels + Layers * Growth. Parameters
//     under denselayer1 .. denselayer<Layers>.
//   Transition<Out>: torchvision's _Transition: BN -> ReLU -> conv 1x1 to Out (no bias) ->
//     AvgPool2d(2, stride 2), named norm, conv.
// The block is a Sequential of Layers steps Concat<Identity, denselayer<l>>: x -> [x, f(x)], so
// the channel order is torchvision's; like torchvision's own torch.cat, each step keeps its
// whole output (memory quadratic in Layers), and Concat also copies each branch's output.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

#include "strata/containers/concat.hpp"
#include "strata/containers/residual.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/pooling.hpp"

namespace strata {

template <std::size_t Growth, std::size_t BnSize = 4>
struct DenseLayer
    : Sequential<Named<"norm1", BatchNorm2d<>>, ReLU,
                 Named<"conv1", Conv2d<BnSize * Growth, 1, NoBias>>, Named<"norm2", BatchNorm2d<>>,
                 ReLU, Named<"conv2", Conv2d<Growth, 3, Pad<1>, NoBias>>> {};

template <std::size_t Out>
struct Transition : Sequential<Named<"norm", BatchNorm2d<>>, ReLU,
                               Named<"conv", Conv2d<Out, 1, NoBias>>, AvgPool2d<2, Stride<2>>> {};

namespace detail {

// Spec under the name "denselayer<Index>".
template <std::size_t Index, class Spec>
struct dense_layer_named : layer_spec {
  template <class In>
  struct bind : Spec::template bind<In> {
    static constexpr Name name = Name("denselayer").numbered(Index);
    static constexpr std::string_view child_name = name.view();
  };
};

template <class Indices, std::size_t Growth, std::size_t BnSize>
struct dense_block;
template <std::size_t... I, std::size_t Growth, std::size_t BnSize>
struct dense_block<std::index_sequence<I...>, Growth, BnSize> {
  using type = Sequential<
      Unprefixed<Concat<Identity, dense_layer_named<I + 1, DenseLayer<Growth, BnSize>>>>...>;
};

}  // namespace detail

template <std::size_t Layers, std::size_t Growth = 32, std::size_t BnSize = 4>
struct DenseBlock : detail::dense_block<std::make_index_sequence<Layers>, Growth, BnSize>::type {
  static_assert(Layers >= 1, "DenseBlock<Layers, Growth, BnSize>: needs at least one layer");
};

}  // namespace strata
