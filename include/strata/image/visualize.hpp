// Pictures of a model: the feature maps of a layer, the filters of a convolution, and a grid of
// predictions. They return an Image; strata/image/io.hpp writes it as PNG.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strata/image/image.hpp"
#include "strata/runtime/model.hpp"
#include "strata/train/metrics.hpp"

namespace strata::image {

namespace detail {

template <std::size_t I, class M>
Image activation_tiles(const M& model, std::size_t sample, const TileOptions& options) {
  using shape = typename M::network::template layer<I>::output_shape;
  if constexpr (shape::rank != 3) {
    throw std::invalid_argument("feature_maps: layer " + std::to_string(I) + "'s output is " +
                                shape::str() + ", not an image (channels x height x width)");
  } else {
    const std::vector<float> maps = model.template read_activation<I>();  // [batch, C, H, W]
    if (sample >= model.batch())
      throw std::invalid_argument("feature_maps: sample " + std::to_string(sample) +
                                  " is not in the last batch of " + std::to_string(model.batch()));
    return tile(std::span<const float>(maps).subspan(sample * shape::size, shape::size),
                shape::dims[0], 1, shape::dims[1], shape::dims[2], options);
  }
}

}  // namespace detail

// The output of top-level layer `layer` for sample `sample` of the model's last forward: one
// tile per channel, each normalised to its own range (black: its minimum, white: its maximum).
template <class M>
Image feature_maps(const M& model, std::size_t layer, std::size_t sample = 0,
                   const TileOptions& options = {}) {
  constexpr std::size_t layers = M::network::layer_count;
  if (layer >= layers)
    throw std::invalid_argument("feature_maps: layer " + std::to_string(layer) +
                                " is out of range; the network has " + std::to_string(layers));
  Image out;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((I == layer ? (out = detail::activation_tiles<I>(model, sample, options), 0) : 0), ...);
  }
  (std::make_index_sequence<layers>{});
  return out;
}

// A convolution's weight [out, in, kh, kw], one tile per filter normalised on its own: in colour
// when it has 3 input channels (RGB), grey with 1, else one grey tile per (filter, channel).
// weight.values() must be host memory (a CPU model's parameter); filters(model, name) below
// reads any backend's.
inline Image filters(const Parameter& weight, TileOptions options = {}) {
  if (weight.rank != 4)
    throw std::invalid_argument("filters: '" + std::string(weight.name) +
                                "' is not a convolution weight [out, in, kh, kw]");
  const auto [out, in, kh, kw] = weight.dims;
  if (options.columns == 0 && in != 1 && in != 3) options.columns = in;
  return (in == 1 || in == 3) ? tile(weight.values(), out, in, kh, kw, options)
                              : tile(weight.values(), out * in, 1, kh, kw, options);
}

// The same for the parameter of `model` named `name`, read to the host first: works on every
// backend.
template <class M>
Image filters(M& model, std::string_view name, TileOptions options = {}) {
  std::vector<float> values = model.read_parameters();
  const float* base = model.parameter_data().data();
  for (Parameter p : model.parameters())
    if (p.name == name) {
      p.value = values.data() + (p.value - base);
      return filters(p, options);
    }
  throw std::invalid_argument("filters: the model has no parameter '" + std::string(name) + "'");
}

// `count` images [channels, height, width] with captions: the true class, then the predicted
// class and its softmax probability, in red when the prediction is wrong.
inline Image predictions(std::span<const float> images, std::size_t count, std::size_t channels,
                         std::size_t height, std::size_t width,
                         std::span<const std::int32_t> labels, std::span<const float> logits,
                         std::span<const std::string_view> names, const TileOptions& options = {}) {
  const std::size_t classes = names.size();
  if (labels.size() < count || logits.size() < count * classes)
    throw std::invalid_argument("predictions: " + std::to_string(labels.size()) + " labels and " +
                                std::to_string(logits.size()) + " logits for " +
                                std::to_string(count) + " images of " + std::to_string(classes) +
                                " classes");
  std::vector<std::vector<Caption>> captions;
  for (std::size_t i = 0; i < count; ++i) {
    const auto row = logits.subspan(i * classes, classes);
    const std::size_t best = top_k(row, 1).front();
    const bool right = best == static_cast<std::size_t>(labels[i]);
    char line[64];
    std::snprintf(line, sizeof line, "%.*s %.0f%%", 12, std::string(names[best]).c_str(),
                  100.0 * softmax(row)[best]);
    captions.push_back({{std::string(names[static_cast<std::size_t>(labels[i])]), {0, 0, 0}},
                        {line, right ? Rgb{0, 110, 0} : Rgb{220, 0, 0}}});
  }
  return tile(images, count, channels, height, width, options, captions);
}

}  // namespace strata::image
