// Hyper-parameter options shared by convolution and pooling layers, written as types so that
// a layer reads like PyTorch's keyword arguments: Conv2d<64, 3, Stride<2>, Pad<1>>.
#pragma once

#include <cstddef>

namespace strata {

template <std::size_t H, std::size_t W = H>
struct Stride {};
template <std::size_t H, std::size_t W = H>
struct Pad {};
template <std::size_t H, std::size_t W = H>
struct Dilation {};
template <std::size_t G>
struct Groups {};
struct NoBias {};
struct CeilMode {};

// A rectangular kernel for layers whose kernel parameter is `auto`: Conv2d<64, Kernel{1, 7}>.
struct Kernel {
  std::size_t h, w;
};

namespace detail {

struct Pair {
  std::size_t h, w;
};

constexpr Kernel as_kernel(std::size_t k) {
  return {k, k};
}
constexpr Kernel as_kernel(Kernel k) {
  return k;
}

// Looks up option template Opt<h, w> among Opts, or returns the default.
template <template <std::size_t, std::size_t> class Opt, class... Opts>
struct find_pair;
template <template <std::size_t, std::size_t> class Opt>
struct find_pair<Opt> {
  static constexpr bool found = false;
  static constexpr Pair value{0, 0};
};
template <template <std::size_t, std::size_t> class Opt, std::size_t H, std::size_t W,
          class... Rest>
struct find_pair<Opt, Opt<H, W>, Rest...> {
  static constexpr bool found = true;
  static constexpr Pair value{H, W};
};
template <template <std::size_t, std::size_t> class Opt, class First, class... Rest>
struct find_pair<Opt, First, Rest...> : find_pair<Opt, Rest...> {};

template <std::size_t Default, template <std::size_t, std::size_t> class Opt, class... Opts>
constexpr Pair pair_or() {
  if constexpr (find_pair<Opt, Opts...>::found)
    return find_pair<Opt, Opts...>::value;
  else
    return {Default, Default};
}

template <class... Opts>
struct find_groups {
  static constexpr std::size_t value = 1;
};
template <std::size_t G, class... Rest>
struct find_groups<Groups<G>, Rest...> {
  static constexpr std::size_t value = G;
};
template <class First, class... Rest>
struct find_groups<First, Rest...> : find_groups<Rest...> {};

template <class T>
inline constexpr bool is_known_option = false;
template <std::size_t H, std::size_t W>
inline constexpr bool is_known_option<Stride<H, W>> = true;
template <std::size_t H, std::size_t W>
inline constexpr bool is_known_option<Pad<H, W>> = true;
template <std::size_t H, std::size_t W>
inline constexpr bool is_known_option<Dilation<H, W>> = true;
template <std::size_t G>
inline constexpr bool is_known_option<Groups<G>> = true;
template <>
inline constexpr bool is_known_option<NoBias> = true;
template <>
inline constexpr bool is_known_option<CeilMode> = true;

template <class T, class... Opts>
inline constexpr bool has_option = (std::is_same_v<T, Opts> || ...);

}  // namespace detail
}  // namespace strata
