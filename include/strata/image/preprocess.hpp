// Pretrained networks' evaluation preprocessing on a PIL image, reproduced bit for bit:
//   torchvision's ImageNet transform (resize_then_crop):
//     transforms.Resize(256)      resize_short_side: PIL's Image.resize(..., BILINEAR)
//     transforms.CenterCrop(224)  center_crop
//     transforms.ToTensor()       to_normalized_chw (v / 255 as float32)
//     transforms.Normalize(m, s)  ... then (x - m) / s, float32
//   TensorFlow's EfficientNet evaluation crop (crop_then_resize): the centre square of
//   size / (size + 32) of the short side, resized to size with PIL's BICUBIC, (v - m) / s.
// PIL's resize is not plain interpolation: when it shrinks, the filter is stretched by the scale
// factor (support = scale x the filter's own), so every source pixel under it contributes
// (antialiasing); when it enlarges, it is ordinary interpolation with half-pixel centres. It runs
// two separable passes (horizontal, then vertical) in 22-bit fixed point, rounding to 8 bits after
// each; resize does the same arithmetic, so the 8-bit result equals PIL's exactly
// (tests/test_image.cpp checks it against PIL 9.4). No dependency; strata/image/io.hpp reads
// files.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "strata/core/preprocessing.hpp"
#include "strata/image/image.hpp"

namespace strata::image {

namespace detail {

// PIL's PRECISION_BITS for 8-bit images (Resample.c).
inline constexpr int resample_precision_bits = 32 - 8 - 2;

// One pass's filter: for output index i, `count[i]` source samples from `first[i]` with
// fixed-point weights weights[i * ksize ...]. As PIL's precompute_coeffs and
// normalize_coeffs_8bpc, including C's truncating casts.
struct ResampleTaps {
  std::size_t ksize = 0;
  std::vector<int> first, count;
  std::vector<std::int32_t> weights;
};

// PIL's filters (Resample.c): the triangle, support 1, and Keys' cubic with a = -0.5, support 2.
inline double resample_filter(Resample resample, double x) {
  x = std::abs(x);
  if (resample == Resample::bilinear) return x < 1.0 ? 1.0 - x : 0.0;
  constexpr double a = -0.5;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

inline ResampleTaps resample_taps(Resample resample, std::size_t in_size, std::size_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  // The filter's support, stretched when shrinking.
  const double support = (resample == Resample::bilinear ? 1.0 : 2.0) * filterscale;
  ResampleTaps taps;
  taps.ksize = static_cast<std::size_t>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(out_size * taps.ksize, 0);
  const double ss = 1.0 / filterscale;
  std::vector<double> k(taps.ksize);
  for (std::size_t xx = 0; xx < out_size; ++xx) {
    const double center = (static_cast<double>(xx) + 0.5) * scale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax =
        std::min(static_cast<int>(center + support + 0.5), static_cast<int>(in_size)) - xmin;
    double total = 0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = resample_filter(resample, (x + xmin - center + 0.5) * ss);
      total += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = total != 0.0 ? k[x] / total : k[x];
      const double fixed = w * (1 << resample_precision_bits);
      taps.weights[xx * taps.ksize + x] =
          static_cast<std::int32_t>(w < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    taps.first[xx] = xmin;
    taps.count[xx] = xmax;
  }
  return taps;
}

// PIL's clip8: the accumulator started at one half, so the shift rounds to nearest.
inline std::uint8_t clip8(std::int64_t v) {
  if (v >= (std::int64_t{1} << resample_precision_bits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<std::uint8_t>(v >> resample_precision_bits);
}

// Resamples along one axis: `horizontal` mixes pixels of a row, otherwise of a column.
inline Image resample_axis(const Image& in, Resample resample, std::size_t out_size,
                           bool horizontal) {
  const std::size_t in_size = horizontal ? in.width : in.height;
  const ResampleTaps taps = resample_taps(resample, in_size, out_size);
  Image out(horizontal ? out_size : in.width, horizontal ? in.height : out_size, in.channels);
  for (std::size_t y = 0; y < out.height; ++y)
    for (std::size_t x = 0; x < out.width; ++x) {
      const std::size_t o = horizontal ? x : y;
      const std::int32_t* w = &taps.weights[o * taps.ksize];
      for (std::size_t c = 0; c < in.channels; ++c) {
        std::int64_t acc = std::int64_t{1} << (resample_precision_bits - 1);
        for (int t = 0; t < taps.count[o]; ++t) {
          const std::size_t s = static_cast<std::size_t>(taps.first[o] + t);
          acc += std::int64_t{horizontal ? in.at(y, s, c) : in.at(s, x, c)} * w[t];
        }
        out.at(y, x, c) = clip8(acc);
      }
    }
  return out;
}

// Refuses an image of more than max_pixels before it is allocated; in double, since the sizes
// asked for may be far beyond what size_t can multiply.
inline void check_pixels(const char* what, double width, double height) {
  if (width * height <= static_cast<double>(max_pixels)) return;
  char sizes[64];
  std::snprintf(sizes, sizeof sizes, "%.0fx%.0f", width, height);
  throw std::invalid_argument(std::string(what) + ": a " + sizes +
                              " image would exceed the limit of " + std::to_string(max_pixels) +
                              " pixels");
}

}  // namespace detail

struct CropBox {
  std::size_t top = 0, left = 0, height = 0, width = 0;
  bool operator==(const CropBox&) const = default;
};

// F.crop, for a box inside the image.
inline Image crop(const Image& in, const CropBox& box) {
  if (box.height == 0 || box.width == 0 || box.top + box.height > in.height ||
      box.left + box.width > in.width)
    throw std::invalid_argument(
        "crop: the box " + std::to_string(box.width) + "x" + std::to_string(box.height) + " at (" +
        std::to_string(box.left) + ", " + std::to_string(box.top) + ") is empty or outside the " +
        std::to_string(in.width) + "x" + std::to_string(in.height) + " image");
  Image out(box.width, box.height, in.channels);
  for (std::size_t y = 0; y < box.height; ++y)
    std::copy_n(&in.pixels[((box.top + y) * in.width + box.left) * in.channels],
                box.width * in.channels, &out.pixels[y * box.width * in.channels]);
  return out;
}

// PIL's Image.resize((width, height), resample) with reducing_gap=None (what torchvision's
// Resize calls): an axis whose size does not change is left untouched, as PIL does.
inline Image resize(const Image& in, std::size_t width, std::size_t height, Resample resample) {
  if (in.width == 0 || in.height == 0 || width == 0 || height == 0)
    throw std::invalid_argument("resize: sizes must be positive, got " + std::to_string(in.width) +
                                "x" + std::to_string(in.height) + " -> " + std::to_string(width) +
                                "x" + std::to_string(height));
  // The horizontal pass comes first, so its result is width x in.height.
  detail::check_pixels("resize", double(width), double(std::max(height, in.height)));
  Image out = width != in.width ? detail::resample_axis(in, resample, width, true) : in;
  return height != in.height ? detail::resample_axis(out, resample, height, false) : out;
}

// transforms.Resize(size) with an int: the short side becomes `size`, the long side
// int(size * long / short) (truncated, as torchvision 0.14).
inline Image resize_short_side(const Image& in, std::size_t size,
                               Resample resample = Resample::bilinear) {
  if (in.width == 0 || in.height == 0 || size == 0)
    throw std::invalid_argument("resize_short_side: sizes must be positive, got " +
                                std::to_string(in.width) + "x" + std::to_string(in.height) +
                                " -> short side " + std::to_string(size));
  const bool wide = in.width >= in.height;
  const std::size_t s = wide ? in.height : in.width, l = wide ? in.width : in.height;
  const double long_exact = static_cast<double>(size) * double(l) / double(s);
  // Before the cast: an extreme aspect ratio asks for more than size_t holds.
  detail::check_pixels("resize_short_side", double(size), long_exact);
  const auto long_side = static_cast<std::size_t>(long_exact);
  return wide ? resize(in, long_side, size, resample) : resize(in, size, long_side, resample);
}

// transforms.CenterCrop(size)'s box: offsets int(round((in - size) / 2.0)), where Python's round
// takes halves to the even neighbour.
inline CropBox center_crop_box(std::size_t width, std::size_t height, std::size_t size) {
  if (width < size || height < size)
    throw std::invalid_argument("center_crop: a " + std::to_string(width) + "x" +
                                std::to_string(height) + " image is smaller than the crop " +
                                std::to_string(size));
  const auto offset = [](std::size_t excess) {
    const std::size_t half = excess / 2;
    return excess % 2 == 1 && half % 2 == 1 ? half + 1 : half;
  };
  return {offset(height - size), offset(width - size), size, size};
}

inline Image center_crop(const Image& in, std::size_t size) {
  return crop(in, center_crop_box(in.width, in.height, size));
}

// ToTensor then Normalize: [C, H, W] floats ((v / divisor) - mean[c]) / std[c], in float32 as
// torch (divisor 255 is ToTensor's). `offset` is added to v / divisor before Normalize, where PCA
// lighting adds its noise (pca_lighting_offset in transforms.hpp); adding the default 0 changes
// nothing.
inline std::vector<float> to_normalized_chw(const Image& in, float divisor,
                                            const std::array<float, 3>& mean,
                                            const std::array<float, 3>& std,
                                            const std::array<float, 3>& offset = {}) {
  if (in.channels != 3) throw std::invalid_argument("to_normalized_chw: the image must be RGB");
  const std::size_t plane = in.width * in.height;
  std::vector<float> out(3 * plane);  // [3, H, W]
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t i = 0; i < plane; ++i)
      out[c * plane + i] =
          (static_cast<float>(in.pixels[i * 3 + c]) / divisor + offset[c] - mean[c]) / std[c];
  return out;
}

// TensorFlow's EfficientNet evaluation crop (preprocessing.py, _decode_and_center_crop): the
// centre square of size / (size + padding) of the short side, the product in float32, offsets
// rounded up.
inline Image padded_center_crop(const Image& in, std::size_t size, std::size_t padding) {
  const float fraction = static_cast<float>(double(size) / double(size + padding));
  const auto side =
      static_cast<std::size_t>(fraction * static_cast<float>(std::min(in.width, in.height)));
  if (side == 0)
    throw std::invalid_argument("padded_center_crop: a " + std::to_string(in.width) + "x" +
                                std::to_string(in.height) + " image has no centre crop");
  const std::size_t top = (in.height - side + 1) / 2, left = (in.width - side + 1) / 2;
  return crop(in, {top, left, side, side});
}

// A pretrained model's evaluation preprocessing (its header states it): [3, size, size] floats,
// ready for Model::forward.
inline std::vector<float> preprocess(const Image& rgb, const EvalPreprocessing& how) {
  const Image square =
      how.geometry == EvalPreprocessing::Geometry::resize_then_crop
          ? center_crop(resize_short_side(rgb, how.resize_short, how.resample), how.size)
          : resize(padded_center_crop(rgb, how.size, how.crop_padding), how.size, how.size,
                   how.resample);
  return to_normalized_chw(square, how.divisor, how.mean, how.std);
}

// torchvision's ImageNet evaluation transform, Resize(resize) + CenterCrop(crop) + ToTensor +
// Normalize(ImageNet): [3, crop, crop] floats, ready for Model::forward.
inline std::vector<float> imagenet_preprocess(const Image& rgb, std::size_t resize = 256,
                                              std::size_t crop = 224) {
  return preprocess(rgb, torchvision_imagenet_eval(resize, crop));
}

}  // namespace strata::image
