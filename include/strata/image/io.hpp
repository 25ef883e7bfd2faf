// Reading JPEG/PNG/BMP/... (stb_image) and writing PNG (stb_image_write). stb is an optional
// dependency of this header alone (Debian: libstb-dev, whose libstb holds the implementations;
// link it: `pkg-config --libs stb`, or CMake's strata_stb target in cmake/StrataStb.cmake).
#pragma once

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "strata/image/image.hpp"
#include "strata/io/file.hpp"

namespace strata::image {

struct ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The encoded image's bytes as 8-bit RGB: grey is replicated and alpha dropped, as PIL's
// convert("RGB"); 16-bit samples are reduced to their high byte. JPEG is decoded by stb's own
// decoder, whose IDCT and chroma upsampling differ from libjpeg's by a few levels on some pixels.
// An image without pixels, or with more than max_pixels, is refused before it is decoded. `name`
// stands for the file in messages.
inline Image read_rgb_from_memory(std::span<const std::uint8_t> bytes,
                                  const std::string& name = "<memory>") {
  const auto fail = [&](const std::string& why) {
    return ImageError("image file '" + name + "' cannot be read: " + why);
  };
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw fail("it is larger than 2 GiB");
  const int size = static_cast<int>(bytes.size());
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(bytes.data(), size, &width, &height, &channels))
    throw fail(stbi_failure_reason());
  const auto check_size = [&] {
    if (width <= 0 || height <= 0)
      throw fail("it is " + std::to_string(width) + "x" + std::to_string(height) +
                 ", without pixels");
    if (std::size_t(width) * std::size_t(height) > max_pixels)
      throw fail("it is " + std::to_string(width) + "x" + std::to_string(height) +
                 ", more than the limit of " + std::to_string(max_pixels) + " pixels");
  };
  check_size();
  const std::unique_ptr<stbi_uc, decltype(&stbi_image_free)> data(
      stbi_load_from_memory(bytes.data(), size, &width, &height, &channels, 3), &stbi_image_free);
  if (!data) throw fail(stbi_failure_reason());
  check_size();  // the decoder's own idea of the size, which the header scan may not share
  Image out(static_cast<std::size_t>(width), static_cast<std::size_t>(height), 3);
  std::copy_n(data.get(), out.pixels.size(), out.pixels.begin());
  return out;
}

namespace detail {

// ImageError in the (file, problem) form that io::read_whole_file reports through.
struct ImageFileError : ImageError {
  ImageFileError(const std::filesystem::path& file, const std::string& problem)
      : ImageError("image file '" + file.string() + "' cannot be read: it " + problem) {}
};

}  // namespace detail

// As read_rgb_from_memory, from a file.
inline Image read_rgb(const std::filesystem::path& path) {
  return read_rgb_from_memory(strata::detail::io::read_whole_file<detail::ImageFileError>(path),
                              path.string());
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
