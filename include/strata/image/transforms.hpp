// Training-time image transforms, each as torchvision 0.14 defines it on a PIL image:
//   random_resized_crop_box(w, h, ...)    RandomResizedCrop.get_params: 10 tries of a random
//                                         area (scale) and log-uniform aspect (ratio), then the
//                                         central fallback
//   resized_crop(image, box, w, h, ...)   F.resized_crop: the crop, resized with PIL's filter
//   horizontal_flip(image)                F.hflip
//   random_crop_box / pad                 RandomCrop(size, padding) with constant (black) fill
// The random draws come from strata/core/random.hpp: the same definitions as
// torchvision's, but not torch's random numbers, so tests compare the deterministic parts
// (a given box, the fallback) with torchvision and the draws with their distributions.
// No dependency.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include "strata/core/random.hpp"
#include "strata/image/image.hpp"
#include "strata/image/preprocess.hpp"

namespace strata::image {

struct RandomResizedCropOptions {
  double scale_min = 0.08, scale_max = 1.0;             // of the image's area
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;  // width / height
};

// RandomResizedCrop.get_params. Python's round() takes halves to even, as std::nearbyint does in
// the default rounding mode.
inline CropBox random_resized_crop_box(std::size_t width, std::size_t height,
                                       const RandomResizedCropOptions& o, std::mt19937_64& rng) {
  if (!(o.scale_min <= o.scale_max) || !(o.ratio_min <= o.ratio_max) || !(o.ratio_min > 0))
    throw std::invalid_argument(
        "random_resized_crop_box: need scale_min <= scale_max and 0 < ratio_min <= ratio_max");
  const double area = double(height) * double(width);
  const double log_low = std::log(o.ratio_min), log_high = std::log(o.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * uniform(rng, o.scale_min, o.scale_max);
    const double aspect = std::exp(uniform(rng, log_low, log_high));
    const double w = std::nearbyint(std::sqrt(target_area * aspect));
    const double h = std::nearbyint(std::sqrt(target_area / aspect));
    if (w > 0 && w <= double(width) && h > 0 && h <= double(height)) {
      const auto box_h = static_cast<std::size_t>(h), box_w = static_cast<std::size_t>(w);
      const std::size_t top = uniform_below(rng, height - box_h + 1);
      return {top, uniform_below(rng, width - box_w + 1), box_h, box_w};
    }
  }
  // The central fallback, its aspect clamped into [ratio_min, ratio_max].
  const double in_ratio = double(width) / double(height);
  std::size_t w = width, h = height;
  if (in_ratio < o.ratio_min)
    h = static_cast<std::size_t>(std::nearbyint(double(w) / o.ratio_min));
  else if (in_ratio > o.ratio_max)
    w = static_cast<std::size_t>(std::nearbyint(double(h) * o.ratio_max));
  return {(height - h) / 2, (width - w) / 2, h, w};
}

inline Image resized_crop(const Image& in, const CropBox& box, std::size_t width,
                          std::size_t height, Resample resample = Resample::bilinear) {
  return resize(crop(in, box), width, height, resample);
}

inline Image horizontal_flip(const Image& in) {
  Image out(in.width, in.height, in.channels);
  for (std::size_t y = 0; y < in.height; ++y)
    for (std::size_t x = 0; x < in.width; ++x)
      std::copy_n(&in.pixels[(y * in.width + x) * in.channels], in.channels,
                  &out.pixels[(y * in.width + (in.width - 1 - x)) * in.channels]);
  return out;
}

// F.pad with a constant fill of 0 on every side.
inline Image pad(const Image& in, std::size_t padding) {
  Image out(in.width + 2 * padding, in.height + 2 * padding, in.channels);
  for (std::size_t y = 0; y < in.height; ++y)
    std::copy_n(&in.pixels[y * in.width * in.channels], in.width * in.channels,
                &out.pixels[((y + padding) * out.width + padding) * in.channels]);
  return out;
}

// RandomCrop.get_params on an image already padded: a size x size box drawn uniformly.
inline CropBox random_crop_box(std::size_t width, std::size_t height, std::size_t size,
                               std::mt19937_64& rng) {
  if (size == 0 || size > width || size > height)
    throw std::invalid_argument("random_crop_box: a crop of " + std::to_string(size) +
                                " does not fit the " + std::to_string(width) + "x" +
                                std::to_string(height) + " image");
  const std::size_t top = uniform_below(rng, height - size + 1);
  return {top, uniform_below(rng, width - size + 1), size, size};
}

}  // namespace strata::image
