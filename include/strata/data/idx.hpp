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
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
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

[[noreturn]] inline void fail(std::string_view name, const std::string& problem) {
  throw DataError("data file '" + std::string(name) + "': " + problem);
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
  const std::string name = path.string();
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) fail(name, "file not found");
  if (std::filesystem::is_directory(st)) fail(name, "cannot open: is a directory, not a file");

  std::ifstream in(path, std::ios::binary);
  if (!in) fail(name, "cannot open file for reading");

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
  if (in.bad()) fail(name, "read error");
  bytes.resize(used);
  return bytes;
}

inline bool is_gzip(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// Inflates at most `limit` bytes and stops there, so that a small file that inflates to gigabytes
// costs no more than what the caller is prepared to accept; the stream is checked (CRC included)
// only when it ends within the limit.
inline std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> in, std::size_t limit,
                                        std::string_view name) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(name, "cannot initialise zlib");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};

  // The gzip trailer stores the uncompressed size mod 2^32; it sizes the first allocation, capped
  // by deflate's maximum ratio and by the limit so that a corrupt trailer cannot trigger a huge
  // allocation.
  std::size_t hint = std::size_t{1} << 16;
  if (in.size() >= 18) {
    const auto* t = in.data() + in.size() - 4;
    const std::size_t isize = std::size_t{t[0]} | std::size_t{t[1]} << 8 | std::size_t{t[2]} << 16 |
                              std::size_t{t[3]} << 24;
    hint = std::max(hint, std::min(isize, in.size() * 1032));
  }
  std::vector<std::uint8_t> out(std::min(hint, limit));

  std::size_t in_pos = 0, out_pos = 0;
  while (out_pos < limit) {
    if (zs.avail_in == 0 && in_pos < in.size()) {
      const std::size_t n = std::min<std::size_t>(in.size() - in_pos, UINT_MAX);
      // zlib's API predates const-correct input pointers; it never writes through next_in.
      zs.next_in = const_cast<Bytef*>(in.data() + in_pos);
      zs.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (out_pos == out.size()) out.resize(std::min(out.size() * 2, limit));
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
      if (!input_left) fail(name, "corrupted gzip stream: unexpected end of compressed data");
    } else if (rc != Z_OK) {
      fail(name, std::string("corrupted gzip stream: ") + (zs.msg ? zs.msg : zError(rc)));
    }
  }
  out.resize(out_pos);
  out.shrink_to_fit();
  return out;
}

inline std::size_t checked_mul(std::size_t a, std::size_t b, std::string_view name) {
  if (b != 0 && a > std::numeric_limits<std::size_t>::max() / b)
    fail(name, "header dimensions are too large to address in memory");
  return a * b;
}

struct IdxContents {
  std::array<std::size_t, 3> dims{};
  std::vector<std::uint8_t> payload;
};

// `kind` is a plural noun ("images"/"labels") used only in messages.
inline IdxContents read_idx(std::span<const std::uint8_t> file, std::string_view name,
                            std::uint32_t magic, std::size_t ndims, const char* kind) {
  const bool compressed = is_gzip(file);
  const std::string where = compressed ? " after decompression" : "";
  const std::size_t header = 4 + 4 * ndims;

  // A compressed file is inflated twice: its header alone, and then no more than the header
  // allows plus one byte, which is enough to tell that there is more.
  std::vector<std::uint8_t> inflated;
  std::span<const std::uint8_t> bytes = file;
  if (compressed) bytes = inflated = gunzip(file, header, name);

  const auto short_header = [&] {
    fail(name, "truncated file: an IDX " + std::string(kind) + " header needs " +
                   std::to_string(header) + " bytes but the file has only " +
                   std::to_string(bytes.size()) + where);
  };
  if (bytes.size() < 4) short_header();
  if (const std::uint32_t found = read_be32(bytes.data()); found != magic) {
    std::string problem = "wrong magic number: expected " + hex32(magic) + " (IDX " + kind +
                          ") but found " + hex32(found) + where;
    if (found == kIdxImagesMagic) problem += " (this looks like an IDX images file)";
    if (found == kIdxLabelsMagic) problem += " (this looks like an IDX labels file)";
    fail(name, problem);
  }
  if (bytes.size() < header) short_header();

  IdxContents c;
  std::size_t expected = 1;
  std::string shape;
  for (std::size_t i = 0; i < ndims; ++i) {
    c.dims[i] = read_be32(bytes.data() + 4 + 4 * i);
    expected = checked_mul(expected, c.dims[i], name);
    if (i > 0) shape += (i == 1 ? " of " : "x") + std::to_string(c.dims[i]);
  }
  const std::string declared = "header declares " + std::to_string(c.dims[0]) + " " + kind + shape +
                               ", i.e. " + std::to_string(header + expected) + " bytes";
  if (compressed) bytes = inflated = gunzip(file, header + expected + 1, name);
  const std::size_t found = bytes.size() - header;
  if (found < expected) {
    fail(name, "truncated file: " + declared + ", but the file has only " +
                   std::to_string(bytes.size()) + " bytes" + where);
  }
  if (found > expected) {
    fail(name, "size mismatch: " + declared + ", but the file has " +
                   (compressed ? "more than " + std::to_string(header + expected) +
                                     " bytes after decompression (decompression stopped there)"
                               : std::to_string(bytes.size()) + " bytes (" +
                                     std::to_string(found - expected) + " trailing bytes)"));
  }
  c.payload.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return c;
}

}  // namespace detail

// `name` stands for the file in messages. Plain and gzip-compressed bytes are both accepted.
inline IdxImages read_idx_images_from_memory(std::span<const std::uint8_t> bytes,
                                             std::string_view name = "<memory>") {
  auto c = detail::read_idx(bytes, name, detail::kIdxImagesMagic, 3, "images");
  return {c.dims[0], c.dims[1], c.dims[2], std::move(c.payload)};
}

inline std::vector<std::uint8_t> read_idx_labels_from_memory(std::span<const std::uint8_t> bytes,
                                                             std::string_view name = "<memory>") {
  return detail::read_idx(bytes, name, detail::kIdxLabelsMagic, 1, "labels").payload;
}

inline IdxImages read_idx_images(const std::filesystem::path& path) {
  return read_idx_images_from_memory(detail::read_raw(path), path.string());
}

inline std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path) {
  return read_idx_labels_from_memory(detail::read_raw(path), path.string());
}

}  // namespace strata::data
