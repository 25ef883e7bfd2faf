// Reader for the IDX format used by MNIST and Fashion-MNIST
// (http://yann.lecun.com/exdb/mnist/), plain or gzip-compressed.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace strata::data {

// Every problem with a data file surfaces as this one type, so callers can catch it and report the
// message (which always names the file) without caring which check failed.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IdxImages {
  std::size_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count * rows * cols, row-major per image
};

namespace detail {

inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;  // unsigned byte, 3 dimensions
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;  // unsigned byte, 1 dimension

[[noreturn]] inline void fail(const std::filesystem::path& path, const std::string& problem) {
  throw DataError("data file '" + path.string() + "': " + problem);
}

inline std::string hex32(std::uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(v));
  return buf;
}

inline std::uint32_t read_be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 |
         std::uint32_t{p[3]};
}

inline std::vector<std::uint8_t> read_raw(const std::filesystem::path& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) fail(path, "file not found");
  if (std::filesystem::is_directory(st)) fail(path, "cannot open: is a directory, not a file");

  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open file for reading");

  std::vector<std::uint8_t> bytes;
  // The size is only a hint: the file may change under us, so the loop below reads to EOF anyway.
  if (const auto size = std::filesystem::file_size(path, ec); !ec) bytes.reserve(size);
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  std::size_t used = 0;
  while (in) {
    bytes.resize(used + kChunk);
    in.read(reinterpret_cast<char*>(bytes.data() + used), static_cast<std::streamsize>(kChunk));
    used += static_cast<std::size_t>(in.gcount());
  }
  if (in.bad()) fail(path, "read error");
  bytes.resize(used);
  return bytes;
}

inline bool is_gzip(const std::vector<std::uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

inline std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& in,
                                        const std::filesystem::path& path) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(path, "cannot initialise zlib");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};

  // The gzip trailer stores the uncompressed size mod 2^32; it sizes the first allocation, capped
  // by deflate's maximum ratio so that a corrupt trailer cannot trigger a huge allocation.
  std::size_t hint = std::size_t{1} << 16;
  if (in.size() >= 18) {
    const auto* t = in.data() + in.size() - 4;
    const std::size_t isize = std::size_t{t[0]} | std::size_t{t[1]} << 8 | std::size_t{t[2]} << 16 |
                              std::size_t{t[3]} << 24;
    hint = std::max(hint, std::min(isize, in.size() * 1032));
  }
  std::vector<std::uint8_t> out(hint);

  std::size_t in_pos = 0, out_pos = 0;
  for (;;) {
    if (zs.avail_in == 0 && in_pos < in.size()) {
      const std::size_t n = std::min<std::size_t>(in.size() - in_pos, UINT_MAX);
      // zlib's API predates const-correct input pointers; it never writes through next_in.
      zs.next_in = const_cast<Bytef*>(in.data() + in_pos);
      zs.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (out_pos == out.size()) out.resize(out.size() * 2);
    zs.next_out = out.data() + out_pos;
    zs.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size() - out_pos, UINT_MAX));
    const uInt before = zs.avail_out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out_pos += before - zs.avail_out;

    const bool input_left = zs.avail_in > 0 || in_pos < in.size();
    if (rc == Z_STREAM_END) {
      if (!input_left) break;
      // Concatenated gzip members are valid gzip (e.g. from `cat a.gz b.gz`).
      inflateReset(&zs);
    } else if (rc == Z_BUF_ERROR) {
      if (!input_left) fail(path, "corrupted gzip stream: unexpected end of compressed data");
    } else if (rc != Z_OK) {
      fail(path, std::string("corrupted gzip stream: ") + (zs.msg ? zs.msg : zError(rc)));
    }
  }
  out.resize(out_pos);
  out.shrink_to_fit();
  return out;
}

inline std::size_t checked_mul(std::size_t a, std::size_t b, const std::filesystem::path& path) {
  if (b != 0 && a > std::numeric_limits<std::size_t>::max() / b)
    fail(path, "header dimensions are too large to address in memory");
  return a * b;
}

struct IdxContents {
  std::array<std::size_t, 3> dims{};
  std::vector<std::uint8_t> payload;
};

// `kind` is a plural noun ("images"/"labels") used only in messages.
inline IdxContents read_idx(const std::filesystem::path& path, std::uint32_t magic,
                            std::size_t ndims, const char* kind) {
  std::vector<std::uint8_t> bytes = read_raw(path);
  const bool compressed = is_gzip(bytes);
  if (compressed) bytes = gunzip(bytes, path);
  const std::string where = compressed ? " after decompression" : "";

  const std::size_t header = 4 + 4 * ndims;
  const auto short_header = [&] {
    fail(path, "truncated file: an IDX " + std::string(kind) + " header needs " +
                   std::to_string(header) + " bytes but the file has only " +
                   std::to_string(bytes.size()) + where);
  };
  if (bytes.size() < 4) short_header();
  if (const std::uint32_t found = read_be32(bytes.data()); found != magic) {
    std::string problem = "wrong magic number: expected " + hex32(magic) + " (IDX " + kind +
                          ") but found " + hex32(found);
    if (found == kIdxImagesMagic) problem += " (this looks like an IDX images file)";
    if (found == kIdxLabelsMagic) problem += " (this looks like an IDX labels file)";
    fail(path, problem);
  }
  if (bytes.size() < header) short_header();

  IdxContents c;
  std::size_t expected = 1;
  std::string shape;
  for (std::size_t i = 0; i < ndims; ++i) {
    c.dims[i] = read_be32(bytes.data() + 4 + 4 * i);
    expected = checked_mul(expected, c.dims[i], path);
    if (i > 0) shape += (i == 1 ? " of " : "x") + std::to_string(c.dims[i]);
  }
  const std::string declared = "header declares " + std::to_string(c.dims[0]) + " " + kind + shape +
                               ", i.e. " + std::to_string(header + expected) + " bytes";
  const std::size_t found = bytes.size() - header;
  if (found < expected) {
    fail(path, "truncated file: " + declared + ", but the file has only " +
                   std::to_string(bytes.size()) + " bytes" + where);
  }
  if (found > expected) {
    fail(path, "size mismatch: " + declared + ", but the file has " + std::to_string(bytes.size()) +
                   " bytes" + where + " (" + std::to_string(found - expected) + " trailing bytes)");
  }
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header));
  c.payload = std::move(bytes);
  return c;
}

}  // namespace detail

inline IdxImages read_idx_images(const std::filesystem::path& path) {
  auto c = detail::read_idx(path, detail::kIdxImagesMagic, 3, "images");
  return {c.dims[0], c.dims[1], c.dims[2], std::move(c.payload)};
}

inline std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path) {
  return detail::read_idx(path, detail::kIdxLabelsMagic, 1, "labels").payload;
}

}  // namespace strata::data
