// An 8-bit image (rows of interleaved channels) and what the visualisations draw on it: filled
// rectangles, text in a built-in 5x7 bitmap font, and grids of float planes normalised for
// display. No dependency: strata/image/io.hpp reads and writes files.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace strata::image {

// The most pixels an image may have, decoded or resized: PIL's MAX_IMAGE_PIXELS, past which it
// warns of a decompression bomb (a PNG or JPEG header of a few bytes can claim gigapixels).
// About 256 MiB as 8-bit RGB.
inline constexpr std::size_t max_pixels = 89'478'485;

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};

struct Image {
  std::size_t width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;  // height * width * channels, row-major, channels interleaved

  Image() = default;
  Image(std::size_t w, std::size_t h, std::size_t c, std::uint8_t value = 0)
      : width(w), height(h), channels(c), pixels(w * h * c, value) {}

  std::uint8_t& at(std::size_t y, std::size_t x, std::size_t c) {
    return pixels[(y * width + x) * channels + c];
  }
  std::uint8_t at(std::size_t y, std::size_t x, std::size_t c) const {
    return pixels[(y * width + x) * channels + c];
  }
};

// An RGB canvas filled with one colour.
inline Image canvas(std::size_t width, std::size_t height, Rgb colour = {255, 255, 255}) {
  Image out(width, height, 3);
  for (std::size_t i = 0; i < width * height; ++i) {
    out.pixels[3 * i] = colour.r;
    out.pixels[3 * i + 1] = colour.g;
    out.pixels[3 * i + 2] = colour.b;
  }
  return out;
}

// Clipped to the image, so callers may draw partly outside it.
inline void fill_rect(Image& img, std::size_t x, std::size_t y, std::size_t w, std::size_t h,
                      Rgb colour) {
  if (img.channels != 3) throw std::invalid_argument("fill_rect: the image must be RGB");
  for (std::size_t yy = y; yy < std::min(y + h, img.height); ++yy)
    for (std::size_t xx = x; xx < std::min(x + w, img.width); ++xx) {
      img.at(yy, xx, 0) = colour.r;
      img.at(yy, xx, 1) = colour.g;
      img.at(yy, xx, 2) = colour.b;
    }
}

// The classic 5x7 LCD font (as in Adafruit-GFX's glcdfont.c, BSD licence), ASCII 32..126: five
// column bytes per glyph, bit 0 the top row; bit 7 holds descenders (g, p, q, y, comma).
inline constexpr std::array<std::uint8_t, 95 * 5> font5x7 = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5F, 0x00, 0x00, 0x00, 0x07, 0x00, 0x07, 0x00, 0x14,
    0x7F, 0x14, 0x7F, 0x14, 0x24, 0x2A, 0x7F, 0x2A, 0x12, 0x23, 0x13, 0x08, 0x64, 0x62, 0x36, 0x49,
    0x56, 0x20, 0x50, 0x00, 0x08, 0x07, 0x03, 0x00, 0x00, 0x1C, 0x22, 0x41, 0x00, 0x00, 0x41, 0x22,
    0x1C, 0x00, 0x2A, 0x1C, 0x7F, 0x1C, 0x2A, 0x08, 0x08, 0x3E, 0x08, 0x08, 0x00, 0x80, 0x70, 0x30,
    0x00, 0x08, 0x08, 0x08, 0x08, 0x08, 0x00, 0x00, 0x60, 0x60, 0x00, 0x20, 0x10, 0x08, 0x04, 0x02,
    0x3E, 0x51, 0x49, 0x45, 0x3E, 0x00, 0x42, 0x7F, 0x40, 0x00, 0x72, 0x49, 0x49, 0x49, 0x46, 0x21,
    0x41, 0x49, 0x4D, 0x33, 0x18, 0x14, 0x12, 0x7F, 0x10, 0x27, 0x45, 0x45, 0x45, 0x39, 0x3C, 0x4A,
    0x49, 0x49, 0x31, 0x41, 0x21, 0x11, 0x09, 0x07, 0x36, 0x49, 0x49, 0x49, 0x36, 0x46, 0x49, 0x49,
    0x29, 0x1E, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x40, 0x34, 0x00, 0x00, 0x00, 0x08, 0x14, 0x22,
    0x41, 0x14, 0x14, 0x14, 0x14, 0x14, 0x00, 0x41, 0x22, 0x14, 0x08, 0x02, 0x01, 0x59, 0x09, 0x06,
    0x3E, 0x41, 0x5D, 0x59, 0x4E, 0x7C, 0x12, 0x11, 0x12, 0x7C, 0x7F, 0x49, 0x49, 0x49, 0x36, 0x3E,
    0x41, 0x41, 0x41, 0x22, 0x7F, 0x41, 0x41, 0x41, 0x3E, 0x7F, 0x49, 0x49, 0x49, 0x41, 0x7F, 0x09,
    0x09, 0x09, 0x01, 0x3E, 0x41, 0x41, 0x51, 0x73, 0x7F, 0x08, 0x08, 0x08, 0x7F, 0x00, 0x41, 0x7F,
    0x41, 0x00, 0x20, 0x40, 0x41, 0x3F, 0x01, 0x7F, 0x08, 0x14, 0x22, 0x41, 0x7F, 0x40, 0x40, 0x40,
    0x40, 0x7F, 0x02, 0x1C, 0x02, 0x7F, 0x7F, 0x04, 0x08, 0x10, 0x7F, 0x3E, 0x41, 0x41, 0x41, 0x3E,
    0x7F, 0x09, 0x09, 0x09, 0x06, 0x3E, 0x41, 0x51, 0x21, 0x5E, 0x7F, 0x09, 0x19, 0x29, 0x46, 0x26,
    0x49, 0x49, 0x49, 0x32, 0x03, 0x01, 0x7F, 0x01, 0x03, 0x3F, 0x40, 0x40, 0x40, 0x3F, 0x1F, 0x20,
    0x40, 0x20, 0x1F, 0x3F, 0x40, 0x38, 0x40, 0x3F, 0x63, 0x14, 0x08, 0x14, 0x63, 0x03, 0x04, 0x78,
    0x04, 0x03, 0x61, 0x59, 0x49, 0x4D, 0x43, 0x00, 0x7F, 0x41, 0x41, 0x41, 0x02, 0x04, 0x08, 0x10,
    0x20, 0x00, 0x41, 0x41, 0x41, 0x7F, 0x04, 0x02, 0x01, 0x02, 0x04, 0x40, 0x40, 0x40, 0x40, 0x40,
    0x00, 0x03, 0x07, 0x08, 0x00, 0x20, 0x54, 0x54, 0x78, 0x40, 0x7F, 0x28, 0x44, 0x44, 0x38, 0x38,
    0x44, 0x44, 0x44, 0x28, 0x38, 0x44, 0x44, 0x28, 0x7F, 0x38, 0x54, 0x54, 0x54, 0x18, 0x00, 0x08,
    0x7E, 0x09, 0x02, 0x18, 0xA4, 0xA4, 0x9C, 0x78, 0x7F, 0x08, 0x04, 0x04, 0x78, 0x00, 0x44, 0x7D,
    0x40, 0x00, 0x20, 0x40, 0x40, 0x3D, 0x00, 0x7F, 0x10, 0x28, 0x44, 0x00, 0x00, 0x41, 0x7F, 0x40,
    0x00, 0x7C, 0x04, 0x78, 0x04, 0x78, 0x7C, 0x08, 0x04, 0x04, 0x78, 0x38, 0x44, 0x44, 0x44, 0x38,
    0xFC, 0x18, 0x24, 0x24, 0x18, 0x18, 0x24, 0x24, 0x18, 0xFC, 0x7C, 0x08, 0x04, 0x04, 0x08, 0x48,
    0x54, 0x54, 0x54, 0x24, 0x04, 0x04, 0x3F, 0x44, 0x24, 0x3C, 0x40, 0x40, 0x20, 0x7C, 0x1C, 0x20,
    0x40, 0x20, 0x1C, 0x3C, 0x40, 0x30, 0x40, 0x3C, 0x44, 0x28, 0x10, 0x28, 0x44, 0x4C, 0x90, 0x90,
    0x90, 0x7C, 0x44, 0x64, 0x54, 0x4C, 0x44, 0x00, 0x08, 0x36, 0x41, 0x00, 0x00, 0x00, 0x77, 0x00,
    0x00, 0x00, 0x41, 0x36, 0x08, 0x00, 0x02, 0x01, 0x02, 0x04, 0x02};

// A glyph is 5 columns plus one of spacing, 8 rows with the descender row.
inline constexpr std::size_t glyph_advance = 6, glyph_height = 8;

inline std::size_t text_width(std::string_view text, std::size_t scale = 1) {
  return text.size() * glyph_advance * scale;
}

// Characters outside printable ASCII are drawn as '?'.
inline void draw_text(Image& img, std::size_t x, std::size_t y, std::string_view text, Rgb colour,
                      std::size_t scale = 1) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(text[i]);
    const std::size_t glyph = (ch >= 32 && ch <= 126) ? ch - 32 : '?' - 32;
    for (std::size_t col = 0; col < 5; ++col)
      for (std::size_t row = 0; row < glyph_height; ++row)
        if ((font5x7[glyph * 5 + col] >> row) & 1u)
          fill_rect(img, x + (i * glyph_advance + col) * scale, y + row * scale, scale, scale,
                    colour);
  }
}

// Draws `channels` (1: grey, 3: RGB) planes of height x width floats, CHW, at (x, y), each pixel
// a scale x scale block; the planes' common minimum maps to 0 and maximum to 255 (a constant
// plane is mid-grey), so tiles of different ranges are all visible.
inline void draw_planes(Image& img, std::size_t x, std::size_t y, std::span<const float> chw,
                        std::size_t channels, std::size_t height, std::size_t width,
                        std::size_t scale = 1) {
  if (channels != 1 && channels != 3)
    throw std::invalid_argument("draw_planes: channels must be 1 or 3, got " +
                                std::to_string(channels));
  if (chw.size() != channels * height * width)
    throw std::invalid_argument("draw_planes: " + std::to_string(chw.size()) +
                                " values for planes of " +
                                std::to_string(channels * height * width));
  const auto [lo, hi] = std::minmax_element(chw.begin(), chw.end());
  const float range = *hi - *lo;
  for (std::size_t r = 0; r < height; ++r)
    for (std::size_t c = 0; c < width; ++c) {
      std::array<std::uint8_t, 3> v{};
      for (std::size_t k = 0; k < 3; ++k) {
        const float value = chw[(channels == 1 ? 0 : k) * height * width + r * width + c];
        v[k] = range > 0 ? static_cast<std::uint8_t>(std::lround(255.0f * (value - *lo) / range))
                         : 128;
      }
      fill_rect(img, x + c * scale, y + r * scale, scale, scale, {v[0], v[1], v[2]});
    }
}

struct Caption {
  std::string text;
  Rgb colour{0, 0, 0};
};

struct TileOptions {
  std::size_t columns = 0;  // 0: a near-square grid
  std::size_t scale = 1;    // each value becomes a scale x scale block
  std::size_t gap = 2;      // pixels between tiles and around the grid
  Rgb background{255, 255, 255};
};

// `count` tiles of `channels` x height x width floats (CHW, one after the other), each
// normalised on its own (draw_planes), in a grid; tile i gets the lines captions[i] below it.
inline Image tile(std::span<const float> tiles, std::size_t count, std::size_t channels,
                  std::size_t height, std::size_t width, const TileOptions& options = {},
                  std::span<const std::vector<Caption>> captions = {}) {
  const std::size_t per_tile = channels * height * width;
  if (count == 0 || tiles.size() < count * per_tile)
    throw std::invalid_argument("tile: " + std::to_string(tiles.size()) + " values for " +
                                std::to_string(count) + " tiles of " + std::to_string(per_tile));
  if (!captions.empty() && captions.size() != count)
    throw std::invalid_argument("tile: " + std::to_string(captions.size()) + " captions for " +
                                std::to_string(count) + " tiles");
  const std::size_t columns =
      options.columns != 0
          ? std::min(options.columns, count)
          : static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(count))));
  const std::size_t rows = (count + columns - 1) / columns;
  std::size_t lines = 0, caption_width = 0;
  for (const auto& lines_of_tile : captions) {
    lines = std::max(lines, lines_of_tile.size());
    for (const Caption& line : lines_of_tile)
      caption_width = std::max(caption_width, text_width(line.text));
  }
  const std::size_t cell_w = std::max(width * options.scale, caption_width) + options.gap;
  const std::size_t cell_h = height * options.scale + lines * (glyph_height + 2) + options.gap;
  Image out =
      canvas(columns * cell_w + options.gap, rows * cell_h + options.gap, options.background);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t x = options.gap + (i % columns) * cell_w;
    const std::size_t y = options.gap + (i / columns) * cell_h;
    draw_planes(out, x, y, tiles.subspan(i * per_tile, per_tile), channels, height, width,
                options.scale);
    if (captions.empty()) continue;
    for (std::size_t l = 0; l < captions[i].size(); ++l)
      draw_text(out, x, y + height * options.scale + 2 + l * (glyph_height + 2),
                captions[i][l].text, captions[i][l].colour);
  }
  return out;
}

}  // namespace strata::image
