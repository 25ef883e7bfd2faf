// Repeat<N, Block>: N copies of a block in sequence (a ResNet stage is one short line). The
// copies are named 0 .. N-1, as torchvision's layer1.0, layer1.1, ...
#pragma once

#include <utility>

#include "strata/sequential.hpp"

namespace strata {

namespace detail {

template <class Block, class Indices>
struct repeated;
template <class Block, std::size_t... I>
struct repeated<Block, std::index_sequence<I...>> {
  template <std::size_t>
  using copy = Block;
  using type = Sequential<copy<I>...>;
};

}  // namespace detail

template <std::size_t N, class Block>
struct Repeat : layer_spec {
  static_assert(N >= 1, "Repeat<N, Block>: N must be at least 1");
  static_assert(LayerSpec<Block>, "Repeat<N, Block>: Block must be a strata layer or block");
  template <class In>
  using bind =
      typename detail::repeated<Block, std::make_index_sequence<N>>::type::template bind<In>;
};

}  // namespace strata
