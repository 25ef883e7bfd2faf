// Training-time image transforms, each as torchvision 0.14 defines it on a PIL image:
//   random_resized_crop_box(w, h, ...)    RandomResizedCrop.get_params: 10 tries of a random
//                                         area (scale) and log-uniform aspect (ratio), then the
//                                         central fallback
//   resized_crop(image, box, w, h, ...)   F.resized_crop: the crop, resized with PIL's filter
//   horizontal_flip(image)                F.hflip
//   random_crop_box / pad                 RandomCrop(size, padding) with constant (black) fill
//   five_crop_boxes, ten_crop             F.five_crop / F.ten_crop (TenCrop), for evaluation
//   luma(pixel)                           PIL's convert("L") of one RGB pixel
//   adjust_brightness / _contrast /       F.adjust_*: PIL's ImageEnhance (a blend with a black,
//   _saturation / _hue                    mean-grey or greyscale image) and, for hue, PIL's HSV
//                                         conversion both ways, bit for bit
//   color_jitter_draw, color_jitter       ColorJitter: get_params, then forward's loop
//   pca_lighting_draw / _offset           AlexNet's PCA lighting as fb.resnet.torch's Lighting,
//                                         on the [0, 1] values (ToTensor's) before Normalize;
//                                         pca_components computes the components from images
// The random draws come from strata/core/random.hpp: the same definitions as
// torchvision's, but not torch's random numbers, so tests compare the deterministic parts
// (a given box, the fallback) with torchvision and the draws with their distributions.
// No dependency.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

// F.five_crop's boxes, in its order: top left, top right, bottom left, bottom right, centre.
inline std::array<CropBox, 5> five_crop_boxes(std::size_t width, std::size_t height,
                                              std::size_t size) {
  const CropBox centre = center_crop_box(width, height, size);  // checks the size
  return {{{0, 0, size, size},
           {0, width - size, size, size},
           {height - size, 0, size, size},
           {height - size, width - size, size, size},
           centre}};
}

// F.ten_crop (TenCrop(size)): the five crops of the image, then the five of its horizontal flip,
// whose "top left" is the mirror image of the top right.
inline std::vector<Image> ten_crop(const Image& in, std::size_t size) {
  std::vector<Image> out;
  const Image flipped = horizontal_flip(in);
  for (const Image* image : {&in, &flipped})
    for (const CropBox& box : five_crop_boxes(in.width, in.height, size))
      out.push_back(crop(*image, box));
  return out;
}

// PIL's RGB -> L (L24 in Convert.c): ITU-R 601-2 luma in 16-bit fixed point, rounded.
inline std::uint8_t luma(const std::uint8_t* rgb) {
  return static_cast<std::uint8_t>((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >>
                                   16);
}

namespace detail {

// x * y rounded before its use. PIL's build computes a product and then adds to it; a compiler
// allowed to contract (GCC's default in C++, with FMA hardware) would fuse the two and round once.
template <class T>
T rounded_product(T x, T y) {
  const volatile T product = x * y;
  return product;
}

// ImagingBlend's expression in float (the factor arrives as a C float), clipped, truncated.
inline std::uint8_t blend(std::uint8_t degenerate, std::uint8_t pixel, float factor) {
  const float v = static_cast<float>(degenerate) +
                  rounded_product(factor, static_cast<float>(int{pixel} - int{degenerate}));
  return v <= 0.0f ? 0 : v >= 255.0f ? 255 : static_cast<std::uint8_t>(v);
}

inline void require_rgb(const Image& in, const char* what) {
  if (in.channels != 3) throw std::invalid_argument(std::string(what) + ": the image must be RGB");
}

// rgb2hsv_row in PIL's Convert.c, with its mix of float variables and double constants.
inline std::array<std::uint8_t, 3> rgb_to_hsv(const std::uint8_t* rgb) {
  const std::uint8_t r = rgb[0], g = rgb[1], b = rgb[2];
  const std::uint8_t maxc = std::max({r, g, b}), minc = std::min({r, g, b});
  if (maxc == minc) return {0, 0, maxc};
  const auto cr = static_cast<float>(maxc - minc);
  const float s = cr / static_cast<float>(maxc);
  const float rc = static_cast<float>(maxc - r) / cr, gc = static_cast<float>(maxc - g) / cr,
              bc = static_cast<float>(maxc - b) / cr;
  float h = r == maxc   ? bc - gc
            : g == maxc ? static_cast<float>(2.0 + rc - bc)
                        : static_cast<float>(4.0 + gc - rc);
  h = static_cast<float>(std::fmod(h / 6.0 + 1.0, 1.0));
  const auto clip8 = [](int v) { return static_cast<std::uint8_t>(std::clamp(v, 0, 255)); };
  return {clip8(static_cast<int>(h * 255.0)), clip8(static_cast<int>(s * 255.0)), maxc};
}

// hsv2rgb in PIL's Convert.c.
inline void hsv_to_rgb(std::uint8_t h, std::uint8_t s, std::uint8_t v, std::uint8_t* rgb) {
  if (s == 0) {
    rgb[0] = rgb[1] = rgb[2] = v;
    return;
  }
  const int i = static_cast<int>(std::floor(static_cast<float>(h) * 6.0 / 255.0));
  const auto f = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
  const auto fs = static_cast<float>(static_cast<float>(s) / 255.0);
  const auto fv = static_cast<float>(v);
  const auto clip8 = [](double x) {
    return static_cast<std::uint8_t>(std::clamp(static_cast<int>(std::round(x)), 0, 255));
  };
  const std::uint8_t p = clip8(fv * (1.0 - fs));
  const std::uint8_t q = clip8(fv * (1.0 - rounded_product(fs, f)));
  const std::uint8_t t = clip8(fv * (1.0 - rounded_product(static_cast<double>(fs), 1.0 - f)));
  const std::array<std::array<std::uint8_t, 3>, 6> sextants = {
      {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}}};
  std::copy_n(sextants[static_cast<std::size_t>(i % 6)].begin(), 3, rgb);
}

}  // namespace detail

// F.adjust_brightness: a blend with black.
inline Image adjust_brightness(const Image& in, double factor) {
  detail::require_rgb(in, "adjust_brightness");
  Image out = in;
  for (std::uint8_t& v : out.pixels) v = detail::blend(0, v, static_cast<float>(factor));
  return out;
}

// F.adjust_contrast: a blend with the mean of the greyscale image, int(mean + 0.5) as
// ImageEnhance.Contrast rounds ImageStat's mean.
inline Image adjust_contrast(const Image& in, double factor) {
  detail::require_rgb(in, "adjust_contrast");
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < in.pixels.size(); i += 3) sum += luma(&in.pixels[i]);
  const double mean = static_cast<double>(sum) / static_cast<double>(in.width * in.height);
  const auto grey = static_cast<std::uint8_t>(mean + 0.5);
  Image out = in;
  for (std::uint8_t& v : out.pixels) v = detail::blend(grey, v, static_cast<float>(factor));
  return out;
}

// F.adjust_saturation: a blend with the image's greyscale (ImageEnhance.Color).
inline Image adjust_saturation(const Image& in, double factor) {
  detail::require_rgb(in, "adjust_saturation");
  Image out = in;
  for (std::size_t i = 0; i < in.pixels.size(); i += 3) {
    const std::uint8_t grey = luma(&in.pixels[i]);
    for (std::size_t c = 0; c < 3; ++c)
      out.pixels[i + c] = detail::blend(grey, in.pixels[i + c], static_cast<float>(factor));
  }
  return out;
}

// F.adjust_hue, factor in [-0.5, 0.5]: the hue channel of PIL's HSV shifted by
// np.uint8(factor * 255), which truncates towards zero and wraps around (x86-64's conversion of a
// negative double, numpy 1.24).
inline Image adjust_hue(const Image& in, double factor) {
  detail::require_rgb(in, "adjust_hue");
  if (!(factor >= -0.5 && factor <= 0.5))
    throw std::invalid_argument("adjust_hue: the factor " + std::to_string(factor) +
                                " is outside [-0.5, 0.5]");
  const auto shift = static_cast<std::uint8_t>(static_cast<int>(factor * 255));
  Image out = in;
  for (std::size_t i = 0; i < in.pixels.size(); i += 3) {
    const auto [h, s, v] = detail::rgb_to_hsv(&in.pixels[i]);
    detail::hsv_to_rgb(static_cast<std::uint8_t>(h + shift), s, v, &out.pixels[i]);
  }
  return out;
}

// ColorJitter(brightness, contrast, saturation, hue) in its single-number form: the first three
// factors uniform in [max(0, 1 - x), 1 + x], the hue in [-hue, hue] (hue at most 0.5); a zero
// turns that adjustment off, as torchvision's None.
struct ColorJitterOptions {
  double brightness = 0, contrast = 0, saturation = 0, hue = 0;
};

// ColorJitter.get_params: the order in which the adjustments run (0 brightness, 1 contrast,
// 2 saturation, 3 hue) and the factors of those switched on.
struct ColorJitterDraw {
  std::array<std::size_t, 4> order{0, 1, 2, 3};
  std::optional<double> brightness, contrast, saturation, hue;
};

// As get_params: the permutation first, then the factors in the order brightness, contrast,
// saturation, hue.
inline ColorJitterDraw color_jitter_draw(const ColorJitterOptions& o, std::mt19937_64& rng) {
  if (!(o.brightness >= 0 && o.contrast >= 0 && o.saturation >= 0 && o.hue >= 0 && o.hue <= 0.5))
    throw std::invalid_argument(
        "color_jitter_draw: brightness, contrast and saturation must be non-negative and hue in "
        "[0, 0.5]");
  ColorJitterDraw d;
  shuffle(d.order, rng);
  const auto factor = [&](double x, bool around_one) -> std::optional<double> {
    if (x == 0) return std::nullopt;
    return around_one ? uniform(rng, std::max(0.0, 1.0 - x), 1.0 + x) : uniform(rng, -x, x);
  };
  d.brightness = factor(o.brightness, true);
  d.contrast = factor(o.contrast, true);
  d.saturation = factor(o.saturation, true);
  d.hue = factor(o.hue, false);
  return d;
}

// ColorJitter.forward's loop.
inline Image color_jitter(Image image, const ColorJitterDraw& d) {
  for (const std::size_t adjustment : d.order) {
    if (adjustment == 0 && d.brightness) image = adjust_brightness(image, *d.brightness);
    if (adjustment == 1 && d.contrast) image = adjust_contrast(image, *d.contrast);
    if (adjustment == 2 && d.saturation) image = adjust_saturation(image, *d.saturation);
    if (adjustment == 3 && d.hue) image = adjust_hue(image, *d.hue);
  }
  return image;
}

// The principal components of RGB pixel values in [0, 1]: eigval[k] the variance along component
// k, largest first, and the column eigvec[.][k] its unit vector (eigvec[c][k]: channel c).
struct PcaComponents {
  std::array<double, 3> eigval;
  std::array<std::array<double, 3>, 3> eigvec;
};

// ImageNet's, as fb.resnet.torch (datasets/imagenet.lua) and timm-style Lighting apply them to
// [0, 1] values.
inline constexpr PcaComponents imagenet_pca = {
    {0.2175, 0.0188, 0.0045},
    {{{-0.5675, 0.7192, 0.4009}, {-0.5808, -0.0045, -0.8140}, {-0.5836, -0.6948, 0.4203}}}};

struct PcaLightingOptions {
  double alpha_std = 0.1;  // AlexNet's
  PcaComponents components = imagenet_pca;
};

// The three alphas, each N(0, alpha_std).
inline std::array<double, 3> pca_lighting_draw(double alpha_std, std::mt19937_64& rng) {
  if (!(alpha_std >= 0))
    throw std::invalid_argument("pca_lighting_draw: alpha_std must be non-negative");
  std::array<double, 3> alpha{};
  for (double& a : alpha) a = normal(rng, 0.0, alpha_std);
  return alpha;
}

// What Lighting adds to channel c: sum over k of eigvec[c][k] * alpha[k] * eigval[k], in double
// in that order, then float32 as the tensor it is added to.
inline std::array<float, 3> pca_lighting_offset(const PcaComponents& pca,
                                                const std::array<double, 3>& alpha) {
  std::array<float, 3> out{};
  for (std::size_t c = 0; c < 3; ++c) {
    double sum = 0;
    for (std::size_t k = 0; k < 3; ++k)
      sum += detail::rounded_product(pca.eigvec[c][k] * alpha[k], pca.eigval[k]);
    out[c] = static_cast<float>(sum);
  }
  return out;
}

// The principal components of every pixel of `images`, as v / divisor: the eigen-decomposition
// of their covariance (divided by n - 1, as np.cov), by cyclic Jacobi rotations. An eigenvector's
// sign is arbitrary (the lighting noise is symmetric); each is turned so that its entry of largest
// magnitude is positive.
inline PcaComponents pca_components(std::span<const Image> images, double divisor = 255.0) {
  std::array<double, 3> mean{};
  std::size_t n = 0;
  for (const Image& image : images) {
    detail::require_rgb(image, "pca_components");
    for (std::size_t i = 0; i < image.pixels.size(); ++i) mean[i % 3] += image.pixels[i] / divisor;
    n += image.width * image.height;
  }
  if (n < 2) throw std::invalid_argument("pca_components: needs at least two pixels");
  for (double& m : mean) m /= static_cast<double>(n);
  // Two passes: the centred products keep their precision over millions of pixels.
  std::array<std::array<double, 3>, 3> a{};  // the covariance, then its rotations
  for (const Image& image : images)
    for (std::size_t i = 0; i < image.pixels.size(); i += 3)
      for (std::size_t p = 0; p < 3; ++p)
        for (std::size_t q = 0; q < 3; ++q)
          a[p][q] +=
              (image.pixels[i + p] / divisor - mean[p]) * (image.pixels[i + q] / divisor - mean[q]);
  for (auto& row : a)
    for (double& v : row) v /= static_cast<double>(n - 1);
  std::array<std::array<double, 3>, 3> v = {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
  constexpr std::array<std::array<std::size_t, 2>, 3> planes = {{{0, 1}, {0, 2}, {1, 2}}};
  for (int sweep = 0; sweep < 50; ++sweep) {
    bool rotated = false;
    for (const auto& [p, q] : planes) {
      if (std::abs(a[p][q]) <= 1e-18 * (std::abs(a[p][p]) + std::abs(a[q][q]))) {
        a[p][q] = a[q][p] = 0;
        continue;
      }
      rotated = true;
      // The rotation of the (p, q) plane that zeroes a[p][q]: t = tan of its angle.
      const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
      const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::hypot(theta, 1.0));
      const double c = 1 / std::hypot(t, 1.0), s = t * c;
      const auto rotate = [&](double& x, double& y) {
        const double x0 = x, y0 = y;
        x = c * x0 - s * y0;
        y = s * x0 + c * y0;
      };
      for (std::size_t k = 0; k < 3; ++k) rotate(a[k][p], a[k][q]);
      for (std::size_t k = 0; k < 3; ++k) rotate(a[p][k], a[q][k]);
      for (std::size_t k = 0; k < 3; ++k) rotate(v[k][p], v[k][q]);
      a[p][q] = a[q][p] = 0;
    }
    if (!rotated) break;
  }
  std::array<std::size_t, 3> order{0, 1, 2};
  std::sort(order.begin(), order.end(),
            [&](std::size_t i, std::size_t j) { return a[i][i] > a[j][j]; });
  PcaComponents out{};
  for (std::size_t k = 0; k < 3; ++k) {
    const std::size_t from = order[k];
    out.eigval[k] = a[from][from];
    std::size_t largest = 0;
    for (std::size_t c = 1; c < 3; ++c)
      if (std::abs(v[c][from]) > std::abs(v[largest][from])) largest = c;
    const double sign = v[largest][from] < 0 ? -1.0 : 1.0;
    for (std::size_t c = 0; c < 3; ++c) out.eigvec[c][k] = sign * v[c][from];
  }
  return out;
}

}  // namespace strata::image
