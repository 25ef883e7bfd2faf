// Compile-time tensor shapes. Only the batch size is a runtime value, so a Shape
// carries the per-sample dimensions (C, H, W for images; N for flat vectors).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

namespace strata {

template <std::size_t... Dims>
struct Shape {
  static_assert(sizeof...(Dims) >= 1, "Shape: needs at least one dimension");
  static_assert(((Dims > 0) && ...), "Shape: every dimension must be positive");
  static constexpr std::size_t rank = sizeof...(Dims);
  static constexpr std::size_t size = (std::size_t{1} * ... * Dims);
  static constexpr std::array<std::size_t, rank> dims{Dims...};

  // "64x7x7": the form the summary table and runtime errors print.
  static std::string str() {
    std::string text;
    for (std::size_t d : dims) {
      if (!text.empty()) text += 'x';
      text += std::to_string(d);
    }
    return text;
  }
};

template <class T>
inline constexpr bool is_shape_v = false;
template <std::size_t... Dims>
inline constexpr bool is_shape_v<Shape<Dims...>> = true;

template <class T>
concept AnyShape = is_shape_v<T>;

// An image: channels, height, width.
template <class S>
concept ImageShape = AnyShape<S> && S::rank == 3;

// A flat feature vector, the input of Linear.
template <class S>
concept FlatShape = AnyShape<S> && S::rank == 1;

// The output shape of a layer that needs an image: ImageOut, or, given a flat input that its
// static_assert has already reported, that input unchanged, so that the layers after it (a
// Linear expecting the flat input the user had) report nothing more.
template <class In, class ImageOut>
using image_layer_output = std::conditional_t<ImageShape<In>, ImageOut, In>;

// The first element of a network: the per-sample shape it accepts.
template <std::size_t C, std::size_t H, std::size_t W>
struct Input {
  using shape = Shape<C, H, W>;
};

template <std::size_t N>
struct InputFlat {
  using shape = Shape<N>;
};

template <class T>
inline constexpr bool is_input_v = false;
template <std::size_t C, std::size_t H, std::size_t W>
inline constexpr bool is_input_v<Input<C, H, W>> = true;
template <std::size_t N>
inline constexpr bool is_input_v<InputFlat<N>> = true;

}  // namespace strata
