// Reading JPEG/PNG/BMP/... (stb_image) and writing PNG (stb_image_write). stb is an optional
// dependency of this header alone (Debian: libstb-dev, whose libstb holds the implementations;
// link it: `pkg-config --libs stb`, or CMake's strata_stb target in cmake/StrataStb.cmake).
#pragma once

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "strata/image/image.hpp"

namespace strata::image {

struct ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The image as 8-bit RGB: grey is replicated and alpha dropped, as PIL's convert("RGB"); 16-bit
// samples are reduced to their high byte. JPEG is decoded by stb's own decoder, whose IDCT and
// chroma upsampling differ from libjpeg's by a few levels on some pixels.
inline Image read_rgb(const std::filesystem::path& path) {
  int width = 0, height = 0, channels = 0;
  const std::unique_ptr<stbi_uc, decltype(&stbi_image_free)> data(
      stbi_load(path.c_str(), &width, &height, &channels, 3), &stbi_image_free);
  if (!data)
    throw ImageError("image file '" + path.string() + "' cannot be read: " + stbi_failure_reason());
  Image out(static_cast<std::size_t>(width), static_cast<std::size_t>(height), 3);
  std::copy_n(data.get(), out.pixels.size(), out.pixels.begin());
  return out;
}

// Grey, RGB or RGBA, by the image's channel count.
inline void write_png(const std::filesystem::path& path, const Image& img) {
  if (img.width == 0 || img.height == 0 ||
      img.pixels.size() != img.width * img.height * img.channels)
    throw ImageError("write_png '" + path.string() + "': the image is empty or inconsistent");
  const int stride = static_cast<int>(img.width * img.channels);
  if (stbi_write_png(path.c_str(), static_cast<int>(img.width), static_cast<int>(img.height),
                     static_cast<int>(img.channels), img.pixels.data(), stride) == 0)
    throw ImageError("PNG file '" + path.string() + "' cannot be written");
}

}  // namespace strata::image
