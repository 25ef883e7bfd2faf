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

// The prefix a container gives child `index`'s parameter names: its Named name, if any.
template <class Bound>
constexpr Name child_prefix(std::size_t index) {
  if constexpr (requires { Bound::child_name; })
    return Name(Bound::child_name);
  else
    return Name{}.numbered(index);
}

}  // namespace strata
