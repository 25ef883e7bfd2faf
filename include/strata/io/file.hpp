// Helpers shared by strata's weight formats (checkpoint.hpp, io/safetensors.hpp): a model's
// tensors on the host in file order, reading a whole file, writing one atomically, little-endian
// float32. Each format passes its own exception type, constructible from (path, message), so its
// errors keep its own wording.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "strata/backend/kernels.hpp"

#if __has_include(<fcntl.h>) && __has_include(<unistd.h>)
#include <fcntl.h>
#include <unistd.h>
#define STRATA_IO_POSIX 1
#endif

namespace strata::detail::io {

// One tensor a model saves, in the order every format writes them: parameters, then buffers.
struct TensorRef {
  std::string_view name;
  std::array<std::size_t, 4> dims;
  std::size_t rank;
  float* value;
  std::size_t size;
  bool buffer;
};

// Host views of regions of Backend's memory: the regions themselves where the host reads the
// backend's memory (the CPU), else copies read here and written back by commit() once a load
// has filled them, so that a load that fails leaves the model or the optimizer unchanged on
// every backend.
template <class Backend>
class HostStaging {
  using ops = kernels<Backend>;

 public:
  // The host view of [data, data + size).
  float* stage(float* data, std::size_t size) {
    if constexpr (ops::host_memory) {
      return data;
    } else {
      // Moving a vector keeps its elements where they are, so views stay valid as regions grow.
      Region& region = regions_.emplace_back(Region{data, std::vector<float>(size)});
      ops::download(exec_, size, data, region.copy.data());
      return region.copy.data();
    }
  }
  void commit() {
    if constexpr (!ops::host_memory)
      for (const Region& region : regions_)
        ops::upload(exec_, region.copy.size(), region.copy.data(), region.data);
  }

 private:
  struct Region {
    float* data;
    std::vector<float> copy;
  };
  exec_t<Backend> exec_ = ops::make_exec();
  std::vector<Region> regions_;
};

// A model's tensors on the host, in file order (see HostStaging).
template <class Model>
class HostTensors {
 public:
  explicit HostTensors(Model& model) {
    float* const parameter_base = model.parameter_data().data();
    float* const buffer_base = model.buffer_data().data();
    float* const parameters = staging_.stage(parameter_base, model.parameter_data().size());
    float* const buffers = staging_.stage(buffer_base, model.buffer_data().size());
    for (const auto& p : model.parameters())
      refs_.push_back(
          {p.name, p.dims, p.rank, parameters + (p.value - parameter_base), p.size, false});
    for (const auto& b : model.buffers())
      refs_.push_back({b.name, b.dims, b.rank, buffers + (b.value - buffer_base), b.size, true});
  }

  const std::vector<TensorRef>& refs() const { return refs_; }
  void commit() { staging_.commit(); }

 private:
  HostStaging<typename Model::backend> staging_;
  std::vector<TensorRef> refs_;
};

template <class Error>
std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in.is_open()) throw Error(file, "cannot be opened");
  const std::streamoff size = in.tellg();
  if (size < 0) throw Error(file, "cannot be read");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  if (!in) throw Error(file, "cannot be read");
  return bytes;
}

// Best effort: makes the data (and then the rename) reach the disk before we report success,
// so that a power loss cannot leave an empty file under the target name.
inline void sync_path([[maybe_unused]] const std::filesystem::path& p,
                      [[maybe_unused]] bool directory) {
#ifdef STRATA_IO_POSIX
  const int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
#endif
}

// "<file>.tmp.<pid>.<n>", n counting this process's saves: two processes, or two threads, saving
// to one path never write the same temporary file. A killed save leaves its file under that name,
// never renamed, so it cannot be taken for the checkpoint itself.
inline std::filesystem::path temporary_name(const std::filesystem::path& file) {
  static std::atomic<std::uint64_t> saves{0};
#ifdef STRATA_IO_POSIX
  // Asked each time: a forked child inherits whatever this process cached.
  const auto process = static_cast<std::uint64_t>(::getpid());
#else
  static const auto process = static_cast<std::uint64_t>(std::random_device{}());
#endif
  std::filesystem::path tmp = file;
  tmp += ".tmp." + std::to_string(process) + "." + std::to_string(saves++);
  return tmp;
}

// Writes a temporary file beside the target and renames it over the target only once it is
// complete, so an error or a crash never leaves a half-written file under the target name.
template <class Error>
void write_atomically(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  const std::filesystem::path tmp = temporary_name(file);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out.is_open()) throw Error(file, "cannot be saved: cannot create '" + tmp.string() + "'");
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.flush();
    out.close();
    if (out.fail()) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw Error(file, "cannot be saved: writing '" + tmp.string() + "' failed");
    }
  }
  sync_path(tmp, false);
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw Error(file,
                "cannot be saved: renaming '" + tmp.string() + "' over it failed: " + ec.message());
  }
  const std::filesystem::path dir = file.parent_path();
  sync_path(dir.empty() ? std::filesystem::path(".") : dir, true);
}

inline void append_le_floats(std::vector<std::uint8_t>& out, const float* p, std::size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    const auto* b = reinterpret_cast<const std::uint8_t*>(p);
    out.insert(out.end(), b, b + n * sizeof(float));
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      const auto v = std::bit_cast<std::uint32_t>(p[i]);
      for (std::size_t b = 0; b < 4; ++b) out.push_back(static_cast<std::uint8_t>(v >> (8 * b)));
    }
  }
}

inline void read_le_floats(const std::uint8_t* src, float* dst, std::size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(dst, src, n * sizeof(float));
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint32_t v = 0;
      for (std::size_t b = 0; b < 4; ++b) v |= std::uint32_t{src[4 * i + b]} << (8 * b);
      dst[i] = std::bit_cast<float>(v);
    }
  }
}

// The values among n that are NaN or infinite, decoded `chunk` at a time by convert(first, count,
// out), so that a load can refuse them before it writes anything, without a copy of the tensor.
template <class Convert>
std::size_t count_non_finite(std::size_t n, Convert&& convert) {
  std::array<float, 1024> chunk;
  std::size_t count = 0;
  for (std::size_t first = 0; first < n; first += chunk.size()) {
    const std::size_t m = std::min(chunk.size(), n - first);
    convert(first, m, chunk.data());
    for (std::size_t i = 0; i < m; ++i) count += !std::isfinite(chunk[i]);
  }
  return count;
}

}  // namespace strata::detail::io
