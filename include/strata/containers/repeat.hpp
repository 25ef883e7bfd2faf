// Repeat<N, Block>: N copies of a block in sequence. Stage<N, First, Block>: First, then N-1
// copies of Block (a ResNet stage: a strided block, then identical ones) in one short line. The
// blocks are named 0 .. N-1, as torchvision's layer1.0, layer1.1, ...
#pragma once

#include <utility>

#include "strata/containers/sequential.hpp"

namespace strata {

namespace detail {

template <class First, class Block, class Indices>
struct repeated;
template <class First, class Block, std::size_t... I>
struct repeated<First, Block, std::index_sequence<I...>> {
  template <std::size_t>
  using copy = Block;
  using type = Sequential<First, copy<I>...>;
};

}  // namespace detail

template <std::size_t N, class Block>
struct Repeat : layer_spec {
  static_assert(N >= 1, "Repeat<N, Block>: N must be at least 1");
  static_assert(LayerSpec<Block>, "Repeat<N, Block>: Block must be a strata layer or block");
  template <class In>
  using bind = typename detail::repeated<
      Block, Block, std::make_index_sequence<(N >= 1 ? N - 1 : 0)>>::type::template bind<In>;
};

template <std::size_t N, class First, class Block>
struct Stage : layer_spec {
  static_assert(N >= 1, "Stage<N, First, Block>: N must be at least 1");
  static_assert(LayerSpec<First> && LayerSpec<Block>,
                "Stage<N, First, Block>: First and Block must be strata layers or blocks");
  template <class In>
  using bind = typename detail::repeated<
      First, Block, std::make_index_sequence<(N >= 1 ? N - 1 : 0)>>::type::template bind<In>;
};

}  // namespace strata
