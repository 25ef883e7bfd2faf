// Named<"conv1", Conv2d<64, 7, ...>>: gives a child of a container the name PyTorch uses for it,
// so that its parameters are "conv1.weight" instead of "<index>.weight" and a torchvision
// state_dict maps one to one. Naming changes nothing else.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "strata/core/layer.hpp"

namespace strata {

// A string usable as a template argument.
template <std::size_t N>
struct FixedString {
  char text[N]{};
  constexpr FixedString(const char (&s)[N]) { std::copy_n(s, N, text); }  // NOLINT: implicit
  constexpr std::string_view view() const { return {text, N - 1}; }
};

// The decimal digits of I, the name a Sequential gives its child I, as a FixedString: for a
// part cut out of a network that keeps the whole network's names.
template <std::size_t I>
constexpr auto index_name() {
  constexpr std::size_t digits = [] {
    std::size_t n = 1;
    for (std::size_t v = I; v >= 10; v /= 10) ++n;
    return n;
  }();
  char text[digits + 1]{};
  std::size_t v = I;
  for (std::size_t d = digits; d-- > 0; v /= 10) text[d] = static_cast<char>('0' + v % 10);
  return FixedString<digits + 1>(text);
}

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

namespace detail {

// A tensor name as a template argument, so that the compiler prints it where a check fails.
template <std::size_t Length>
struct TensorName {
  char text[Length + 1]{};
};

template <std::size_t Length>
constexpr TensorName<Length> tensor_name(std::string_view name) {
  TensorName<Length> out;
  std::copy_n(name.data(), Length, out.text);
  return out;
}

template <TensorName Name>
struct tensor_name_too_long {
  static_assert(always_false<decltype(Name)>,
                "network: a tensor name is longer than strata::Name::capacity (95) characters; "
                "its first 95 are shown above; shorten the Named<> names on its path");
  // Already reported above: true keeps the caller's check from repeating the error.
  static constexpr bool value = true;
};

template <TensorName Name>
struct duplicate_tensor_name {
  static_assert(always_false<decltype(Name)>,
                "network: two tensors have the name shown above, so saved files could not be "
                "loaded; give the layers distinct Named<> names (two children of one container "
                "named alike, or two Unprefixed children with the same tensors)");
  static constexpr bool value = true;
};

template <class Net>
constexpr std::string_view first_truncated_name() {
  for (const ParamSpec& spec : Net::params)
    if (spec.name.truncated) return spec.name.view();
  for (const BufferSpec& spec : Net::buffers)
    if (spec.name.truncated) return spec.name.view();
  return {};
}

// The first name, in network order, that an earlier tensor already has. An open-addressing
// table of FNV-1a hashes keeps this linear in the number of names: the compiler evaluates it
// for every network, and sorting a thousand names in a constant expression costs seconds.
template <class Net>
constexpr std::string_view first_duplicate_name() {
  constexpr std::size_t count = Net::params.size() + Net::buffers.size();
  std::array<std::string_view, 2 * count + 1> table{};
  auto seen_before = [&](std::string_view name) {
    std::uint64_t hash = 14695981039346656037ull;
    for (char c : name) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    for (std::size_t slot = hash % table.size();; slot = (slot + 1) % table.size()) {
      if (table[slot].empty()) {
        table[slot] = name;
        return false;
      }
      if (table[slot] == name) return true;
    }
  };
  for (const ParamSpec& spec : Net::params)
    if (seen_before(spec.name.view())) return spec.name.view();
  for (const BufferSpec& spec : Net::buffers)
    if (seen_before(spec.name.view())) return spec.name.view();
  return {};
}

// Every parameter and buffer of a network has a distinct, complete name: PyTorch's state_dict
// keys, which checkpoints and safetensors files are written and read by.
template <class Net>
constexpr bool check_tensor_names() {
  constexpr std::string_view too_long = first_truncated_name<Net>();
  if constexpr (!too_long.empty()) {
    return tensor_name_too_long<tensor_name<too_long.size()>(too_long)>::value;
  } else {
    constexpr std::string_view duplicate = first_duplicate_name<Net>();
    if constexpr (!duplicate.empty())
      return duplicate_tensor_name<tensor_name<duplicate.size()>(duplicate)>::value;
    else
      return true;
  }
}

}  // namespace detail

}  // namespace strata
