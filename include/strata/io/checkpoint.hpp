// Checkpoints: a model's parameters and buffers, optionally with an optimizer's state, in one
// self-describing binary file (format: docs/checkpoint-format.md).
//
//   strata::save_checkpoint("run.ckpt", model, optimizer);
//   strata::load_checkpoint("run.ckpt", model, optimizer);
//
// Saving never leaves a half-written file under the target name: it writes "<path>.tmp.<pid>.<n>"
// beside the target and renames it over the target only once it is complete. Loading validates the
// whole file (magic, version, length, CRC-32, architecture, optimizer kind, finite values) before
// it touches the model or the optimizer, so a refused checkpoint leaves both as they were.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "strata/io/file.hpp"
#include "strata/runtime/model.hpp"
#include "strata/train/optim.hpp"

namespace strata {

// Every checkpoint failure: unreadable or unwritable file, corruption, a different network or
// optimizer. The message names the file.
class CheckpointError : public std::runtime_error {
 public:
  CheckpointError(const std::filesystem::path& file, const std::string& what)
      : std::runtime_error("checkpoint '" + file.string() + "' " + what), file_(file) {}
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

// How an optimizer is named in a checkpoint, and what its per-parameter state tensors are
// called (PyTorch's state_dict keys). Specialise it to checkpoint another optimizer.
template <class Optimizer>
struct optimizer_traits;

template <class Backend>
struct optimizer_traits<SGD<Backend>> {
  static constexpr std::string_view name = "SGD";
  static constexpr std::array<std::string_view, 1> state_names{"momentum_buffer"};
};
template <class Backend>
struct optimizer_traits<Adam<Backend>> {
  static constexpr std::string_view name = "Adam";
  static constexpr std::array<std::string_view, 2> state_names{"exp_avg", "exp_avg_sq"};
};
template <class Backend>
struct optimizer_traits<AdamW<Backend>> {
  static constexpr std::string_view name = "AdamW";
  static constexpr std::array<std::string_view, 2> state_names{"exp_avg", "exp_avg_sq"};
};

template <class Optimizer>
concept CheckpointableOptimizer = requires(Optimizer& opt, std::size_t n) {
  optimizer_traits<Optimizer>::name;
  optimizer_traits<Optimizer>::state_names;
  { opt.state() } -> std::same_as<detail::OptimizerState<typename Optimizer::backend>&>;
  { opt.steps() } -> std::convertible_to<std::size_t>;
  opt.set_steps(n);
};

// What a load accepts beyond a well-formed file of the right network.
struct CheckpointLoadOptions {
  // NaN and infinite values (weights, buffers, optimizer state) are refused by default: they are
  // almost always the remains of a diverged run, and would only surface as NaN outputs later.
  bool allow_non_finite = false;
};

inline constexpr std::array<char, 8> checkpoint_magic{'S', 'T', 'R', 'A', 'T', 'A', 'C', 'K'};
inline constexpr std::uint32_t checkpoint_version = 1;

namespace detail::ckpt {

enum class Kind : std::uint8_t { parameter = 0, buffer = 1, optimizer_state = 2 };
enum class DType : std::uint8_t { f32 = 1 };

inline constexpr std::size_t max_rank = 4;
// Adam computes its bias correction from the step count in double, exact only up to 2^53; no
// training gets near it, so a larger count is damage, not history.
inline constexpr std::uint64_t max_steps = std::uint64_t{1} << 53;

// magic + version + file size + fingerprint + tensor count + optimizer name length + steps + CRC
inline constexpr std::size_t min_file_size = 8 + 4 + 8 + 8 + 4 + 4 + 8 + 4;

// One tensor as the network (or optimizer) has it, or as the file describes it.
struct TensorInfo {
  Kind kind = Kind::parameter;
  std::string name;
  std::size_t rank = 0;
  std::array<std::uint64_t, max_rank> dims{};
  float* target = nullptr;               // where a load writes it (network side only)
  std::size_t size = 0;                  // elements
  const std::uint8_t* source = nullptr;  // its bytes in the file (file side only)

  bool same_layout(const TensorInfo& o) const {
    return kind == o.kind && name == o.name && rank == o.rank && dims == o.dims;
  }
};

inline std::string describe(const TensorInfo& t, bool with_kind) {
  std::string s;
  if (with_kind)
    s += t.kind == Kind::parameter ? "parameter "
         : t.kind == Kind::buffer  ? "buffer "
                                   : "optimizer state ";
  s += "'" + t.name + "' [";
  for (std::size_t i = 0; i < t.rank; ++i) s += (i ? ", " : "") + std::to_string(t.dims[i]);
  return s + "]";
}

inline std::vector<TensorInfo> network_tensors(const std::vector<io::TensorRef>& refs) {
  std::vector<TensorInfo> out;
  for (const io::TensorRef& r : refs) {
    TensorInfo t{r.buffer ? Kind::buffer : Kind::parameter,
                 std::string(r.name),
                 r.rank,
                 {},
                 r.value,
                 r.size,
                 nullptr};
    for (std::size_t i = 0; i < r.rank; ++i) t.dims[i] = r.dims[i];
    out.push_back(std::move(t));
  }
  return out;
}

// An optimizer's state tensors on the host (see io::HostStaging).
template <class Backend>
class HostState {
 public:
  explicit HostState(OptimizerState<Backend>& state) : state_(state) {
    for (std::size_t k = 0; k < state.tensor_count(); ++k)
      tensors_.push_back(staging_.stage(state.slot(k, 0), state.tensor_size()));
  }
  std::size_t tensor_count() const { return state_.tensor_count(); }
  std::span<const Parameter> params() const { return state_.params(); }
  float* tensor(std::size_t k) { return tensors_[k]; }
  void commit() { staging_.commit(); }

 private:
  OptimizerState<Backend>& state_;
  io::HostStaging<Backend> staging_;
  std::vector<float*> tensors_;
};

// The optimizer's state, split per parameter: "<parameter>.<state name>" for each parameter, in
// the order of optimizer_traits::state_names.
template <CheckpointableOptimizer Optimizer>
std::vector<TensorInfo> optimizer_tensors(HostState<typename Optimizer::backend>& state) {
  using traits = optimizer_traits<Optimizer>;
  if (state.tensor_count() != traits::state_names.size())
    throw std::logic_error("optimizer_traits<" + std::string(traits::name) + ">: names " +
                           std::to_string(traits::state_names.size()) +
                           " state tensors, the optimizer has " +
                           std::to_string(state.tensor_count()));
  std::vector<TensorInfo> out;
  std::size_t offset = 0;
  for (const Parameter& p : state.params()) {
    for (std::size_t k = 0; k < traits::state_names.size(); ++k) {
      TensorInfo t;
      t.kind = Kind::optimizer_state;
      t.name = std::string(p.name) + "." + std::string(traits::state_names[k]);
      t.rank = p.rank;
      t.target = state.tensor(k) + offset;
      t.size = p.size;
      for (std::size_t i = 0; i < p.rank; ++i) t.dims[i] = p.dims[i];
      out.push_back(std::move(t));
    }
    offset += p.size;
  }
  return out;
}

// The optimizer must have been built over this model's parameters, or its state would be
// saved (or restored) under the wrong names.
template <class Net, class Backend, CheckpointableOptimizer Optimizer>
void check_optimizer_matches(const std::filesystem::path& file, Model<Net, Backend>& model,
                             Optimizer& opt) {
  std::span<const Parameter> ours = model.parameters(), its = opt.state().params();
  bool same = ours.size() == its.size();
  for (std::size_t i = 0; same && i < ours.size(); ++i)
    same = ours[i].name == its[i].name && ours[i].size == its[i].size;
  if (!same)
    throw CheckpointError(file,
                          "cannot be used with an optimizer that was not built over this "
                          "model's parameters");
}

// FNV-1a 64 over each tensor's kind, name and shape: a cheap architecture identity that lets
// tools tell checkpoints apart without parsing the tensor list.
inline std::uint64_t fingerprint(const std::vector<TensorInfo>& tensors) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](std::uint8_t byte) { h = (h ^ byte) * 0x100000001b3ull; };
  auto mix64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) mix(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  for (const TensorInfo& t : tensors) {
    if (t.kind == Kind::optimizer_state) continue;
    mix(static_cast<std::uint8_t>(t.kind));
    mix64(t.name.size());
    for (char c : t.name) mix(static_cast<std::uint8_t>(c));
    mix64(t.rank);
    for (std::size_t i = 0; i < t.rank; ++i) mix64(t.dims[i]);
  }
  return h;
}

inline std::uint32_t crc32_of(const std::uint8_t* data, std::size_t size) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  // zlib's length is a uInt; feed large files in pieces.
  constexpr std::size_t chunk = std::size_t{1} << 30;
  for (std::size_t done = 0; done < size; done += chunk)
    crc = ::crc32(crc, data + done, static_cast<uInt>(std::min(chunk, size - done)));
  return static_cast<std::uint32_t>(crc);
}

class Writer {
 public:
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  template <class U>
  void uint(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i)
      out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void string(std::string_view s) {
    uint(static_cast<std::uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  void floats(const float* p, std::size_t n) { io::append_le_floats(out_, p, n); }
  std::vector<std::uint8_t>& data() { return out_; }

 private:
  std::vector<std::uint8_t> out_;
};

// Reads the verified body; running out of bytes here means the writer and reader disagree
// (CRC-valid but malformed), never a plain truncation, which is caught earlier.
class Reader {
 public:
  Reader(const std::filesystem::path& file, const std::uint8_t* begin, const std::uint8_t* end)
      : file_(file), p_(begin), end_(end) {}
  const std::uint8_t* take(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n)
      throw CheckpointError(file_, "is malformed: a record runs past the end of the data");
    const std::uint8_t* at = p_;
    p_ += n;
    return at;
  }
  template <class U>
  U uint() {
    const std::uint8_t* b = take(sizeof(U));
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) v |= static_cast<U>(U{b[i]} << (8 * i));
    return v;
  }
  std::string string() {
    const auto n = uint<std::uint32_t>();
    const std::uint8_t* b = take(n);
    return {reinterpret_cast<const char*>(b), n};
  }
  bool at_end() const { return p_ == end_; }

 private:
  const std::filesystem::path& file_;
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

inline std::vector<std::uint8_t> encode(const std::vector<TensorInfo>& tensors,
                                        std::uint64_t fingerprint, std::string_view optimizer,
                                        std::uint64_t steps) {
  Writer w;
  w.bytes(checkpoint_magic.data(), checkpoint_magic.size());
  w.uint(checkpoint_version);
  w.uint(std::uint64_t{0});  // file size, patched below
  w.uint(fingerprint);
  w.uint(static_cast<std::uint32_t>(tensors.size()));
  w.string(optimizer);
  w.uint(steps);
  for (const TensorInfo& t : tensors) {
    w.uint(static_cast<std::uint8_t>(t.kind));
    w.string(t.name);
    w.uint(static_cast<std::uint8_t>(DType::f32));
    w.uint(static_cast<std::uint8_t>(t.rank));
    for (std::size_t i = 0; i < t.rank; ++i) w.uint(t.dims[i]);
    w.uint(static_cast<std::uint64_t>(t.size * sizeof(float)));
    w.floats(t.target, t.size);
  }
  std::vector<std::uint8_t>& out = w.data();
  const std::uint64_t total = out.size() + 4;
  for (std::size_t i = 0; i < 8; ++i) out[12 + i] = static_cast<std::uint8_t>(total >> (8 * i));
  w.uint(crc32_of(out.data() + 8, out.size() - 8));
  return std::move(out);
}

struct Contents {
  std::vector<std::uint8_t> bytes;  // owns what the tensors' `source` pointers address
  std::uint64_t fingerprint = 0;
  std::string optimizer;
  std::uint64_t steps = 0;
  std::vector<TensorInfo> tensors;
};

inline Contents read_verified(const std::filesystem::path& file) {
  Contents c;
  c.bytes = io::read_whole_file<CheckpointError>(file);
  const std::vector<std::uint8_t>& b = c.bytes;
  const std::size_t have = std::min(b.size(), checkpoint_magic.size());
  if (!std::equal(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(have),
                  checkpoint_magic.begin()))
    throw CheckpointError(file,
                          "is not a strata checkpoint (its first bytes are not \"STRATACK\")");
  auto truncated = [&](std::uint64_t expected) {
    return CheckpointError(file, "is truncated: it has " + std::to_string(b.size()) +
                                     " bytes, expected " + std::to_string(expected));
  };
  if (b.size() < 12) throw truncated(min_file_size);
  Reader header(file, b.data() + 8, b.data() + b.size());
  const auto version = header.uint<std::uint32_t>();
  if (version != checkpoint_version)
    throw CheckpointError(file, "has format version " + std::to_string(version) +
                                    "; this strata reads version " +
                                    std::to_string(checkpoint_version));
  if (b.size() < min_file_size) throw truncated(min_file_size);
  const auto declared = header.uint<std::uint64_t>();
  if (b.size() < declared) throw truncated(declared);
  if (b.size() > declared)
    throw CheckpointError(file, "is corrupt: it has " + std::to_string(b.size()) +
                                    " bytes, but its header says " + std::to_string(declared));
  const std::size_t body_end = b.size() - 4;
  std::uint32_t stored = 0;
  for (std::size_t i = 0; i < 4; ++i) stored |= std::uint32_t{b[body_end + i]} << (8 * i);
  if (crc32_of(b.data() + 8, body_end - 8) != stored)
    throw CheckpointError(file, "is corrupt: its CRC-32 checksum does not match its contents");

  Reader r(file, b.data() + 20, b.data() + body_end);
  c.fingerprint = r.uint<std::uint64_t>();
  const auto count = r.uint<std::uint32_t>();
  c.optimizer = r.string();
  c.steps = r.uint<std::uint64_t>();
  if (c.steps > max_steps)
    throw CheckpointError(file, "is malformed: its optimizer step count " +
                                    std::to_string(c.steps) + " is larger than the limit 2^53");
  for (std::uint32_t n = 0; n < count; ++n) {
    TensorInfo t;
    const auto kind = r.uint<std::uint8_t>();
    if (kind > static_cast<std::uint8_t>(Kind::optimizer_state))
      throw CheckpointError(
          file, "is malformed: tensor " + std::to_string(n) + " has kind " + std::to_string(kind));
    t.kind = static_cast<Kind>(kind);
    t.name = r.string();
    const auto dtype = r.uint<std::uint8_t>();
    if (dtype != static_cast<std::uint8_t>(DType::f32))
      throw CheckpointError(file, "has tensor '" + t.name + "' of unsupported dtype " +
                                      std::to_string(dtype) + " (only f32 = 1 is supported)");
    t.rank = r.uint<std::uint8_t>();
    if (t.rank > max_rank)
      throw CheckpointError(file, "has tensor '" + t.name + "' of rank " + std::to_string(t.rank) +
                                      "; at most " + std::to_string(max_rank) + " is supported");
    std::uint64_t elements = 1;
    for (std::size_t i = 0; i < t.rank; ++i) {
      t.dims[i] = r.uint<std::uint64_t>();
      if (t.dims[i] != 0 && elements > std::numeric_limits<std::uint64_t>::max() / 8 / t.dims[i])
        throw CheckpointError(file, "is malformed: tensor '" + t.name + "' has absurd dims");
      elements *= t.dims[i];
    }
    const auto byte_length = r.uint<std::uint64_t>();
    if (byte_length != elements * sizeof(float))
      throw CheckpointError(file, "is malformed: tensor '" + t.name + "' has " +
                                      std::to_string(byte_length) + " bytes for " +
                                      std::to_string(elements) + " f32 values");
    t.size = static_cast<std::size_t>(elements);
    t.source = r.take(static_cast<std::size_t>(byte_length));
    c.tensors.push_back(std::move(t));
  }
  if (!r.at_end()) throw CheckpointError(file, "is malformed: unexpected data after the tensors");
  return c;
}

// Refuses, naming the first tensor that differs, unless `found` lists exactly `expected`.
inline void check_layout(const std::filesystem::path& file, const std::vector<TensorInfo>& expected,
                         const std::vector<TensorInfo>& found, std::string_view what) {
  const std::string prefix = "does not match this " + std::string(what) + ": tensor ";
  for (std::size_t i = 0; i < std::max(expected.size(), found.size()); ++i) {
    if (i >= found.size())
      throw CheckpointError(file, prefix + std::to_string(i) + " is " +
                                      describe(expected[i], false) + " in the " +
                                      std::string(what) + " but the file has only " +
                                      std::to_string(found.size()) + " tensors");
    if (i >= expected.size())
      throw CheckpointError(file, prefix + std::to_string(i) + " is " + describe(found[i], false) +
                                      " in the file but the " + std::string(what) + " has only " +
                                      std::to_string(expected.size()) + " tensors");
    if (!expected[i].same_layout(found[i])) {
      const bool kinds_differ = expected[i].kind != found[i].kind;
      throw CheckpointError(file, prefix + std::to_string(i) + " is " +
                                      describe(expected[i], kinds_differ) + " in the " +
                                      std::string(what) + " but " +
                                      describe(found[i], kinds_differ) + " in the file");
    }
  }
}

// Splits the file's tensors into the network's and the optimizer's, and checks the network's.
inline std::vector<TensorInfo> checked_network_part(const std::filesystem::path& file,
                                                    const std::vector<io::TensorRef>& network,
                                                    Contents& c,
                                                    std::vector<TensorInfo>& optimizer_part) {
  std::vector<TensorInfo> ours = network_tensors(network), theirs;
  for (TensorInfo& t : c.tensors)
    (t.kind == Kind::optimizer_state ? optimizer_part : theirs).push_back(std::move(t));
  check_layout(file, ours, theirs, "network");
  // The layouts agree, so a different fingerprint means the header itself is inconsistent.
  if (fingerprint(ours) != c.fingerprint)
    throw CheckpointError(file,
                          "is malformed: its architecture fingerprint does not match its "
                          "tensor list");
  for (std::size_t i = 0; i < ours.size(); ++i) ours[i].source = theirs[i].source;
  return ours;
}

// Refuses, naming each tensor and its count, values that are NaN or infinite in the file.
inline void check_finite(const std::filesystem::path& file, const CheckpointLoadOptions& options,
                         std::initializer_list<const std::vector<TensorInfo>*> parts) {
  if (options.allow_non_finite) return;
  std::string found;
  for (const std::vector<TensorInfo>* part : parts)
    for (const TensorInfo& t : *part)
      if (const std::size_t n =
              io::count_non_finite(t.size, [&](std::size_t first, std::size_t count, float* out) {
                io::read_le_floats(t.source + first * sizeof(float), out, count);
              }))
        found += (found.empty() ? "'" : ", '") + t.name + "' has " + std::to_string(n) + " of " +
                 std::to_string(t.size);
  if (!found.empty())
    throw CheckpointError(file, "holds values that are NaN or infinite (" + found +
                                    "; CheckpointLoadOptions' allow_non_finite accepts them)");
}

inline void copy_in(const std::vector<TensorInfo>& tensors) {
  for (const TensorInfo& t : tensors) io::read_le_floats(t.source, t.target, t.size);
}

}  // namespace detail::ckpt

// Saves the model's parameters and buffers.
template <class Net, class Backend>
void save_checkpoint(const std::filesystem::path& file, Model<Net, Backend>& model) {
  using namespace detail::ckpt;
  const detail::io::HostTensors host(model);
  const std::vector<TensorInfo> tensors = network_tensors(host.refs());
  detail::io::write_atomically<CheckpointError>(file, encode(tensors, fingerprint(tensors), {}, 0));
}

// Saves the model and the optimizer's state and step count, to resume training exactly.
template <class Net, class Backend, CheckpointableOptimizer Optimizer>
void save_checkpoint(const std::filesystem::path& file, Model<Net, Backend>& model,
                     Optimizer& optimizer) {
  using namespace detail::ckpt;
  check_optimizer_matches(file, model, optimizer);
  const detail::io::HostTensors host(model);
  HostState<typename Optimizer::backend> state(optimizer.state());
  std::vector<TensorInfo> tensors = network_tensors(host.refs());
  const std::uint64_t print = fingerprint(tensors);
  for (TensorInfo& t : optimizer_tensors<Optimizer>(state)) tensors.push_back(std::move(t));
  detail::io::write_atomically<CheckpointError>(
      file, encode(tensors, print, optimizer_traits<Optimizer>::name,
                   static_cast<std::uint64_t>(optimizer.steps())));
}

// Restores the model's parameters and buffers; any optimizer state in the file is ignored.
template <class Net, class Backend>
void load_checkpoint(const std::filesystem::path& file, Model<Net, Backend>& model,
                     const CheckpointLoadOptions& options = {}) {
  using namespace detail::ckpt;
  Contents c = read_verified(file);
  detail::io::HostTensors host(model);
  std::vector<TensorInfo> optimizer_part;
  const std::vector<TensorInfo> network =
      checked_network_part(file, host.refs(), c, optimizer_part);
  check_finite(file, options, {&network});
  copy_in(network);
  host.commit();
}

// Restores the model and the optimizer; refuses a file without optimizer state or with another
// optimizer's, and then changes neither.
template <class Net, class Backend, CheckpointableOptimizer Optimizer>
void load_checkpoint(const std::filesystem::path& file, Model<Net, Backend>& model,
                     Optimizer& optimizer, const CheckpointLoadOptions& options = {}) {
  using namespace detail::ckpt;
  using traits = optimizer_traits<Optimizer>;
  check_optimizer_matches(file, model, optimizer);
  Contents c = read_verified(file);
  detail::io::HostTensors host(model);
  std::vector<TensorInfo> theirs;
  const std::vector<TensorInfo> network = checked_network_part(file, host.refs(), c, theirs);
  if (c.optimizer.empty())
    throw CheckpointError(file, "holds no optimizer state (it was saved without an optimizer)");
  if (c.optimizer != traits::name)
    throw CheckpointError(file, "holds " + c.optimizer + " state, which cannot be loaded into " +
                                    std::string(traits::name));
  HostState<typename Optimizer::backend> state(optimizer.state());
  std::vector<TensorInfo> ours = optimizer_tensors<Optimizer>(state);
  check_layout(file, ours, theirs, "optimizer");
  for (std::size_t i = 0; i < ours.size(); ++i) ours[i].source = theirs[i].source;
  check_finite(file, options, {&network, &ours});
  copy_in(network);
  copy_in(ours);
  host.commit();
  state.commit();
  optimizer.set_steps(static_cast<std::size_t>(c.steps));
}

}  // namespace strata
