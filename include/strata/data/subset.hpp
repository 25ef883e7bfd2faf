// Parts of a data set: chosen samples, chosen classes (relabelled 0..k-1), and a fixed number of
// samples per class drawn with a seed (few-shot training sets).
//
//   auto old_classes = st::data::select_classes(train, {0, 1, 2, 3, 4});   // labels 0..4
//   auto new_classes = st::data::select_classes(train, {5, 6, 7, 8, 9});   // labels 0..4
//   auto few = st::data::subset(new_classes, st::data::sample_per_class(new_classes, 50, 7));
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "strata/data/loader.hpp"

namespace strata::data {

// The samples at `indices`, in that order (an index may repeat).
inline Dataset subset(const Dataset& dataset, std::span<const std::size_t> indices) {
  Dataset out;
  out.count = indices.size();
  out.channels = dataset.channels;
  out.rows = dataset.rows;
  out.cols = dataset.cols;
  out.black = dataset.black;
  const std::size_t size = dataset.image_size();
  out.images.resize(out.count * size);
  out.labels.resize(out.count);
  for (std::size_t i = 0; i < out.count; ++i) {
    if (indices[i] >= dataset.count)
      throw std::out_of_range("subset: index " + std::to_string(indices[i]) +
                              " is past the data set's " + std::to_string(dataset.count) +
                              " samples");
    std::copy_n(dataset.images.begin() + std::ptrdiff_t(indices[i] * size), size,
                out.images.begin() + std::ptrdiff_t(i * size));
    out.labels[i] = dataset.labels[indices[i]];
  }
  return out;
}

// The samples whose label is one of `classes`, in data-set order, relabelled by the class's
// position in `classes`, so that a network with classes.size() outputs can learn them.
inline Dataset select_classes(const Dataset& dataset, std::span<const std::int32_t> classes) {
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < dataset.count; ++i)
    if (std::find(classes.begin(), classes.end(), dataset.labels[i]) != classes.end())
      indices.push_back(i);
  Dataset out = subset(dataset, indices);
  for (std::int32_t& label : out.labels)
    label = static_cast<std::int32_t>(std::find(classes.begin(), classes.end(), label) -
                                      classes.begin());
  return out;
}
inline Dataset select_classes(const Dataset& dataset, std::initializer_list<std::int32_t> classes) {
  return select_classes(dataset, std::span<const std::int32_t>(classes.begin(), classes.size()));
}

// `per_class` indices of every label 0..max, drawn without replacement (the same seed gives the
// same draw with every standard library), in increasing order. Throws std::invalid_argument if
// a label has fewer samples than that.
inline std::vector<std::size_t> sample_per_class(const Dataset& dataset, std::size_t per_class,
                                                 std::uint64_t seed) {
  const std::int32_t classes =
      dataset.count == 0 ? 0 : *std::max_element(dataset.labels.begin(), dataset.labels.end()) + 1;
  std::vector<std::vector<std::size_t>> members(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < dataset.count; ++i)
    members[static_cast<std::size_t>(dataset.labels[i])].push_back(i);
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> out;
  for (std::size_t c = 0; c < members.size(); ++c) {
    if (members[c].size() < per_class)
      throw std::invalid_argument("sample_per_class: class " + std::to_string(c) + " has " +
                                  std::to_string(members[c].size()) + " samples, fewer than " +
                                  std::to_string(per_class));
    strata::shuffle(members[c], rng);
    out.insert(out.end(), members[c].begin(), members[c].begin() + std::ptrdiff_t(per_class));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace strata::data
