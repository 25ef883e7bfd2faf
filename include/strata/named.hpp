// Named<"conv1", Conv2d<64, 7, ...>>: gives a child of a container the name PyTorch uses for it,
// so that its parameters are "conv1.weight" instead of "<index>.weight" and a torchvision
// state_dict maps one to one. Naming changes nothing else.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "strata/layer.hpp"

namespace strata {

// A string usable as a template argument.
template <std::size_t N>
struct FixedString {
  char text[N]{};
  constexpr FixedString(const char (&s)[N]) { std::copy_n(s, N, text); }  // NOLINT: implicit
  constexpr std::string_view view() const { return {text, N - 1}; }
};

template <FixedString Name, class Spec>
struct Named : layer_spec {
  static_assert(LayerSpec<Spec>, "Named<Name, Spec>: Spec must be a strata layer or block");
  static_assert(Name.view().size() > 0, "Named: the name must not be empty");

  template <class In>
  struct bind : Spec::template bind<In> {
    static constexpr std::string_view child_name = Name.view();
  };
};

// Unprefixed<Spec>: Spec's parameters keep their own names, with no prefix from the container,
// for PyTorch modules that hold a branch's layers as their own direct children (torchvision's
// Inception-v3 blocks: "branch5x5_1.conv.weight", not "branch2.0.conv.weight").
template <class Spec>
struct Unprefixed : layer_spec {
  static_assert(LayerSpec<Spec>, "Unprefixed<Spec>: Spec must be a strata layer or block");

  template <class In>
  struct bind : Spec::template bind<In> {
    static constexpr std::string_view child_name{};
  };
};

// The prefix a container gives a child's parameter names: its Named name if it has one, else
// the container's own choice (a Sequential's index, a Concat's "branch<i+1>").
template <class Bound>
constexpr Name child_prefix(Name otherwise) {
  if constexpr (requires { Bound::child_name; })
    return Name(Bound::child_name);
  else
    return otherwise;
}

}  // namespace strata
