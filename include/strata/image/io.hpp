// Reading JPEG (libjpeg-turbo) and PNG (libpng) as 8-bit RGB, and writing PNG (libpng). JPEG goes
// through the library PIL itself links, with PIL's settings, and PNG is lossless (PIL's own reader
// and libpng give the same samples), so that read_rgb equals PIL 9.4's Image.open(f).convert("RGB")
// pixel for pixel (tests/test_image.cpp checks it on the files of make_messy_images.py).
// libjpeg-turbo and libpng are optional dependencies of this header alone (Debian:
// libjpeg62-turbo-dev, libpng-dev; link -ljpeg -lpng16, or CMake's strata_image_codecs target in
// cmake/StrataImageCodecs.cmake).
//
// Both libraries report errors by calling a handler that must not return; it longjmps back to a
// setjmp in run(), whose callable holds nothing with a destructor, and the C++ caller throws.
#pragma once

#include <cstdio>  // jpeglib.h uses FILE and size_t without including their headers

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <array>
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "strata/image/image.hpp"
#include "strata/io/file.hpp"

namespace strata::image {

struct ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ReadOptions {
  // An image whose header claims more pixels is refused before any pixel buffer is allocated, as
  // PIL refuses a decompression bomb from the size Image.open reads.
  std::size_t max_pixels = strata::image::max_pixels;
  // JPEG only, PIL's Image.draft("RGB", (draft_width, draft_height)) when both are positive: the
  // decoder's IDCT scales the image by 1/s, s the largest of 8, 4, 2, 1 not above
  // min(width / draft_width, height / draft_height), so that it stays at least that size (the
  // limit above applies to the full size, as in PIL). PNG ignores it, as PIL's draft does.
  std::size_t draft_width = 0, draft_height = 0;
};

namespace detail {

// libjpeg's decompressor, reading from memory.
struct JpegReader {
  jpeg_decompress_struct info{};
  jpeg_error_mgr errors{};
  std::jmp_buf jump{};
  bool truncated = false;
  char message[JMSG_LENGTH_MAX] = {};

  JpegReader() {
    info.err = jpeg_std_error(&errors);
    errors.error_exit = &fail;
    errors.emit_message = &warn;
    info.client_data = this;
  }
  ~JpegReader() { jpeg_destroy_decompress(&info); }
  JpegReader(const JpegReader&) = delete;
  JpegReader& operator=(const JpegReader&) = delete;

  template <class F>
  bool run(F&& f) {
    if (setjmp(jump)) return false;
    f();
    return true;
  }

  static void fail(j_common_ptr c) {
    auto* self = static_cast<JpegReader*>(c->client_data);
    c->err->format_message(c, self->message);
    std::longjmp(self->jump, 1);
  }
  // PIL ignores libjpeg's warnings but raises when the data ends before the image does, which
  // libjpeg's memory source reports as the warning JWRN_JPEG_EOF (padding the rest with grey).
  static void warn(j_common_ptr c, int level) {
    if (level != -1 || c->err->msg_code != JWRN_JPEG_EOF) return;
    static_cast<JpegReader*>(c->client_data)->truncated = true;
    fail(c);
  }
};

// What libpng's reader and writer share: errors longjmp back to run() with their message;
// warnings are ignored, as PIL has none to give.
struct PngCodec {
  png_structp png = nullptr;
  png_infop info = nullptr;
  char message[200] = {};

  template <class F>
  bool run(F&& f) {
    if (setjmp(png_jmpbuf(png))) return false;
    f();
    return true;
  }
  static void fail(png_structp png, png_const_charp why) {
    auto* self = static_cast<PngCodec*>(png_get_error_ptr(png));
    std::snprintf(self->message, sizeof self->message, "%s", why);
    png_longjmp(png, 1);
  }
  static void ignore(png_structp, png_const_charp) {}
};

// From memory.
struct PngReader : PngCodec {
  std::span<const std::uint8_t> bytes;
  std::size_t offset = 0;
  bool truncated = false;

  explicit PngReader(std::span<const std::uint8_t> data) : bytes(data) {
    png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, static_cast<PngCodec*>(this), &fail, &ignore);
    if (png) info = png_create_info_struct(png);
    if (!info) {
      png_destroy_read_struct(&png, nullptr, nullptr);
      throw std::bad_alloc();
    }
    png_set_read_fn(png, this, &read);
  }
  ~PngReader() { png_destroy_read_struct(&png, &info, nullptr); }
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;

  static void read(png_structp png, png_bytep out, std::size_t n) {
    auto* self = static_cast<PngReader*>(png_get_io_ptr(png));
    self->truncated = n > self->bytes.size() - self->offset;
    if (self->truncated) png_error(png, "the data ends early");
    std::memcpy(out, self->bytes.data() + self->offset, n);
    self->offset += n;
  }
};

// To a file.
struct PngWriter : PngCodec {
  std::FILE* file = nullptr;

  PngWriter() {
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, static_cast<PngCodec*>(this), &fail,
                                  &ignore);
    if (png) info = png_create_info_struct(png);
    if (!info) {
      png_destroy_write_struct(&png, nullptr);
      throw std::bad_alloc();
    }
  }
  ~PngWriter() {
    png_destroy_write_struct(&png, &info);
    if (file) std::fclose(file);
  }
  PngWriter(const PngWriter&) = delete;
  PngWriter& operator=(const PngWriter&) = delete;
};

inline std::string size_text(std::size_t width, std::size_t height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

// PIL's CMYK to RGB (Convert.c's cmyk2rgb: v = (255 - k) - c * (255 - k) / 255, the division
// rounded as MULDIV255), after PIL's "CMYK;I" raw mode, which assumes Adobe's inverted samples
// whether or not the file has an Adobe marker.
inline std::uint8_t cmyk_channel(std::uint8_t inverted_c, std::uint8_t inverted_k) {
  const unsigned product = (255u - inverted_c) * inverted_k + 128u;
  return static_cast<std::uint8_t>(inverted_k - (((product >> 8) + product) >> 8));
}

inline Image read_jpeg(std::span<const std::uint8_t> bytes, const ReadOptions& options,
                       const auto& fail) {
  JpegReader reader;
  jpeg_decompress_struct& info = reader.info;
  const auto jpeg_fail = [&] {
    return fail(reader.truncated ? std::string("it is truncated")
                                 : "its JPEG data is invalid: " + std::string(reader.message));
  };
  if (!reader.run([&] {
        jpeg_create_decompress(&info);
        jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
        jpeg_read_header(&info, TRUE);
      }))
    throw jpeg_fail();
  if (std::size_t(info.image_width) * info.image_height > options.max_pixels)
    throw fail("it is " + size_text(info.image_width, info.image_height) +
               ", more than the limit of " + std::to_string(options.max_pixels) + " pixels");
  if (options.draft_width > 0 && options.draft_height > 0) {
    const std::size_t fit =
        std::min(info.image_width / options.draft_width, info.image_height / options.draft_height);
    info.scale_num = 1;
    info.scale_denom = fit >= 8 ? 8 : fit >= 4 ? 4 : fit >= 2 ? 2 : 1;
  }
  // libjpeg converts grey and YCbCr (or RGB) to RGB itself; CMYK and YCCK come out as CMYK.
  const bool cmyk = info.num_components == 4;
  info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  if (!reader.run([&] { jpeg_start_decompress(&info); })) throw jpeg_fail();
  Image out(info.output_width, info.output_height, 3);
  std::vector<std::uint8_t> cmyk_row(cmyk ? std::size_t(info.output_width) * 4 : 0);
  if (!reader.run([&] {
        while (info.output_scanline < info.output_height) {
          std::uint8_t* row = out.pixels.data() + std::size_t(info.output_scanline) * out.width * 3;
          JSAMPROW target = cmyk ? cmyk_row.data() : row;
          jpeg_read_scanlines(&info, &target, 1);
          for (std::size_t x = 0; x < cmyk_row.size() / 4; ++x)
            for (std::size_t c = 0; c < 3; ++c)
              row[3 * x + c] = cmyk_channel(cmyk_row[4 * x + c], cmyk_row[4 * x + 3]);
        }
        jpeg_finish_decompress(&info);  // PIL, too, calls a file without its end marker truncated
      }))
    throw jpeg_fail();
  return out;
}

inline Image read_png(std::span<const std::uint8_t> bytes, const ReadOptions& options,
                      const auto& fail) {
  PngReader reader(bytes);
  png_structp png = reader.png;
  png_infop info = reader.info;
  const auto png_fail = [&] {
    return fail(reader.truncated ? std::string("it is truncated")
                                 : "its PNG data is invalid: " + std::string(reader.message));
  };
  if (!reader.run([&] { png_read_info(png, info); })) throw png_fail();
  const std::size_t width = png_get_image_width(png, info),
                    height = png_get_image_height(png, info);
  if (width * height > options.max_pixels)
    throw fail("it is " + size_text(width, height) + ", more than the limit of " +
               std::to_string(options.max_pixels) + " pixels");
  // As PIL's convert("RGB"): palettes and grey of under 8 bits expanded, 16-bit samples cut to
  // their high byte (PIL's ";16B" raw modes), grey replicated, alpha and tRNS dropped. No gamma.
  if (!reader.run([&] {
        png_set_expand(png);
        png_set_strip_16(png);
        png_set_strip_alpha(png);
        png_set_gray_to_rgb(png);
        png_set_interlace_handling(png);
        png_read_update_info(png, info);
      }))
    throw png_fail();
  Image out(width, height, 3);
  std::vector<png_bytep> rows(height);
  for (std::size_t y = 0; y < height; ++y) rows[y] = out.pixels.data() + y * width * 3;
  // No png_read_end: PIL reads a file that ends after its image data, without IEND.
  if (!reader.run([&] { png_read_image(png, rows.data()); })) throw png_fail();
  return out;
}

// The format a file's first bytes give away, for a message.
inline std::string_view format_name(std::span<const std::uint8_t> bytes) {
  const auto starts = [&](std::string_view magic) {
    return bytes.size() >= magic.size() &&
           std::equal(magic.begin(), magic.end(), bytes.begin(),
                      [](char m, std::uint8_t b) { return static_cast<std::uint8_t>(m) == b; });
  };
  if (starts("\xFF\xD8\xFF")) return "JPEG";
  if (starts("\x89PNG\r\n\x1A\n")) return "PNG";
  if (starts("GIF87a") || starts("GIF89a")) return "GIF";
  if (starts("BM")) return "BMP";
  if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4))) return "TIFF";
  if (starts("RIFF") && bytes.size() >= 12 &&
      std::equal(bytes.begin() + 8, bytes.begin() + 12, std::string_view("WEBP").begin()))
    return "WebP";
  return {};
}

}  // namespace detail

// The encoded image's bytes, JPEG or PNG by their first bytes, as 8-bit RGB the way PIL 9.4's
// Image.open(f).convert("RGB") gives it: grey is replicated; alpha, including a palette's or a
// colour's tRNS transparency, is dropped without compositing; CMYK and YCCK JPEGs are taken as
// Adobe's inverted CMYK and converted with PIL's formula; EXIF orientation is not applied.
// Differs from PIL on 16-bit grey PNG, which PIL opens as 32-bit integers and clips to 255 (all
// but the darkest pixels white): strata takes the high byte, as PIL does for 16-bit colour.
// Truncated data is an error, as PIL's default (ImageFile.LOAD_TRUNCATED_IMAGES false); so is an
// image without pixels (both libraries refuse one from its header). `name` stands for the file in
// messages.
inline Image read_rgb_from_memory(std::span<const std::uint8_t> bytes,
                                  const std::string& name = "<memory>",
                                  const ReadOptions& options = {}) {
  const auto fail = [&](const std::string& why) {
    return ImageError("image file '" + name + "' cannot be read: " + why);
  };
  const std::string_view format = detail::format_name(bytes);
  if (format == "JPEG") return detail::read_jpeg(bytes, options, fail);
  if (format == "PNG") return detail::read_png(bytes, options, fail);
  throw fail("it is " +
             (format.empty() ? std::string("not an image strata knows")
                             : "a " + std::string(format) + " file") +
             "; strata reads JPEG and PNG only");
}

namespace detail {

// ImageError in the (file, problem) form that io::read_whole_file reports through.
struct ImageFileError : ImageError {
  ImageFileError(const std::filesystem::path& file, const std::string& problem)
      : ImageError("image file '" + file.string() + "' cannot be read: it " + problem) {}
};

}  // namespace detail

// As read_rgb_from_memory, from a file.
inline Image read_rgb(const std::filesystem::path& path, const ReadOptions& options = {}) {
  return read_rgb_from_memory(strata::detail::io::read_whole_file<detail::ImageFileError>(path),
                              path.string(), options);
}

// Grey, grey and alpha, RGB or RGBA, by the image's channel count; 8-bit, zlib's default level.
inline void write_png(const std::filesystem::path& path, const Image& img) {
  const auto fail = [&](const std::string& why) {
    return ImageError("PNG file '" + path.string() + "' cannot be written: " + why);
  };
  constexpr std::array<int, 4> colour_types = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                               PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  if (img.width == 0 || img.height == 0 || img.channels == 0 || img.channels > 4 ||
      img.pixels.size() != img.width * img.height * img.channels)
    throw fail("the image is empty or inconsistent");
  detail::PngWriter writer;
  writer.file = std::fopen(path.c_str(), "wb");
  if (!writer.file) throw fail("it cannot be opened");
  std::vector<png_bytep> rows(img.height);
  for (std::size_t y = 0; y < img.height; ++y)
    rows[y] = const_cast<png_bytep>(img.pixels.data() + y * img.width * img.channels);
  if (!writer.run([&] {
        png_init_io(writer.png, writer.file);
        png_set_IHDR(writer.png, writer.info, static_cast<png_uint_32>(img.width),
                     static_cast<png_uint_32>(img.height), 8, colour_types[img.channels - 1],
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(writer.png, writer.info);
        png_write_image(writer.png, rows.data());
        png_write_end(writer.png, nullptr);
      }))
    throw fail(writer.message);
  const int closed = std::fclose(writer.file);
  writer.file = nullptr;
  if (closed != 0) throw fail("closing it failed");
}

}  // namespace strata::image
