// A printable table of a network: layer, output shape, parameters, MACs.
#pragma once

#include <cstdio>
#include <string>

#include "strata/containers/sequential.hpp"

namespace strata {

namespace detail {

inline std::string with_separators(std::size_t value) {
  std::string digits = std::to_string(value), text;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return text;
}

inline std::string summary_row(const std::string& index, const std::string& layer,
                               const std::string& shape, const std::string& params,
                               const std::string& macs) {
  // Blocks describe their whole body; the table keeps the beginning.
  constexpr std::size_t width = 44;
  const std::string shown = layer.size() <= width ? layer : layer.substr(0, width - 3) + "...";
  char line[256];
  std::snprintf(line, sizeof line, "%-4s %-44s %-14s %14s %16s\n", index.c_str(), shown.c_str(),
                shape.c_str(), params.c_str(), macs.c_str());
  return line;
}

}  // namespace detail

template <Network Net>
std::string summary() {
  std::string text = detail::summary_row("#", "layer", "output", "parameters", "MACs");
  text += detail::summary_row("", "input", Net::input_shape::str(), "", "");
  Net::for_each_layer([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
    using L = typename Net::template layer<I>;
    std::string layer = L::describe();
    if constexpr (requires { L::child_name; }) layer = std::string(L::child_name) + ": " + layer;
    text += detail::summary_row(std::to_string(I), layer, L::output_shape::str(),
                                detail::with_separators(L::parameter_count),
                                detail::with_separators(L::macs));
  });
  text += detail::summary_row("", "total", Net::output_shape::str(),
                              detail::with_separators(Net::parameter_count),
                              detail::with_separators(Net::macs));
  return text;
}

}  // namespace strata
