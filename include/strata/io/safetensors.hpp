// Weights in and out in the safetensors format (huggingface/safetensors; description:
// docs/safetensors.md), the format PyTorch users exchange weights in.
//
//   st::Model<st::models::ResNet18<10>> model;
//   st::load_safetensors("resnet18.safetensors", model, {.allow_missing = {"fc."},
//                                                        .allow_unexpected = {"fc."}});
//   st::save_safetensors("mine.safetensors", model);
//
// Tensors are named as the model names its parameters and buffers: torchvision's state_dict
// names for the zoo, nn.Sequential's index names ("0.weight") for any other network. A load
// checks the whole file, and every name, shape and dtype against the network, before it writes
// anything, so a refused file leaves the model as it was.
//
// Needs nlohmann-json (Debian: nlohmann-json3-dev), for this header only.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "strata/io/file.hpp"
#include "strata/runtime/model.hpp"

namespace strata {

// Every safetensors failure: unreadable or unwritable file, malformed or truncated data, a file
// that does not fit the network. The message names the file, and the tensors at fault.
class SafetensorsError : public std::runtime_error {
 public:
  SafetensorsError(const std::filesystem::path& file, const std::string& what)
      : std::runtime_error("safetensors file '" + file.string() + "' " + what), file_(file) {}
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

// Exceptions to "the file holds exactly the network's tensors", by name prefix ("fc." matches
// "fc.weight" and "fc.bias"; "" matches every name). A tensor allowed both missing and unexpected
// may also differ in shape, and is then skipped: a classifier head replaced for another number of
// classes.
struct LoadOptions {
  std::vector<std::string> allow_missing{};     // the network's, absent from the file: kept as is
  std::vector<std::string> allow_unexpected{};  // the file's, absent from the network: ignored
  // NaN and infinite values are refused by default: weights like that are almost always the
  // remains of a diverged run, and would only surface as NaN outputs far from their cause.
  bool allow_non_finite = false;
};

// What a successful load left out.
struct LoadReport {
  std::vector<std::string> kept;     // network tensors not loaded (allowed missing or reshaped)
  std::vector<std::string> ignored;  // file tensors not loaded (allowed, or num_batches_tracked)
};

namespace detail::safetensors {

// The reference implementation's limit; a larger header is a corrupt length field.
inline constexpr std::uint64_t max_header_size = 100'000'000;
// A valid header nests three deep: the header object, a tensor's object, its shape. Deeper
// nesting is refused before parsing, since parsing it costs far more memory than its size.
inline constexpr std::size_t max_header_depth = 3;
// Bounds what one tensor's entry may hold (its dims and its two offsets), so that a single entry
// cannot be a huge list either.
inline constexpr std::size_t max_tensor_values = 66;

// Every dtype the format defines, with its element size, so that a file holding tensors strata
// cannot load (an int32 index, say) is still checked and can be read for the others.
inline std::optional<std::size_t> element_size(std::string_view dtype) {
  static const std::map<std::string_view, std::size_t> sizes{
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
  const auto it = sizes.find(dtype);
  if (it == sizes.end()) return std::nullopt;
  return it->second;
}

inline bool loadable(std::string_view dtype) {
  return dtype == "F32" || dtype == "F64" || dtype == "F16" || dtype == "BF16";
}

struct Entry {
  std::string name, dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte offsets into the data section
};

struct File {
  std::span<const std::uint8_t> bytes;
  std::size_t data_start = 0;
  std::map<std::string, Entry> tensors;
};

inline std::string shape_str(const auto& dims, std::size_t rank) {
  std::string s = "[";
  for (std::size_t i = 0; i < rank; ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}
inline std::string shape_str(const std::vector<std::uint64_t>& dims) {
  return shape_str(dims, dims.size());
}

// Parses one header entry; malformed entries are refused here, before any offset is trusted.
inline Entry parse_entry(const std::filesystem::path& file, const std::string& name,
                         const nlohmann::json& j) {
  const auto bad = [&](const std::string& what) {
    return SafetensorsError(file, "has a malformed header: tensor '" + name + "' " + what);
  };
  if (!j.is_object()) throw bad("is not described by an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!j.contains(key)) throw bad(std::string("has no \"") + key + "\"");
  Entry e;
  e.name = name;
  if (!j["dtype"].is_string()) throw bad("has a dtype that is not a string");
  e.dtype = j["dtype"].get<std::string>();
  const std::optional<std::size_t> size = element_size(e.dtype);
  if (!size) throw bad("has unknown dtype '" + e.dtype + "'");
  if (!j["shape"].is_array()) throw bad("has a shape that is not a list");
  std::uint64_t elements = 1;
  for (const nlohmann::json& d : j["shape"]) {
    if (!d.is_number_unsigned()) throw bad("has a shape entry that is not a natural number");
    e.shape.push_back(d.get<std::uint64_t>());
    if (e.shape.back() != 0 && elements > max_header_size * max_header_size / e.shape.back())
      throw bad("has an absurd shape " + shape_str(e.shape));
    elements *= e.shape.back();
  }
  const nlohmann::json& offsets = j["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    throw bad("has data_offsets that are not two natural numbers");
  e.begin = offsets[0].get<std::uint64_t>();
  e.end = offsets[1].get<std::uint64_t>();
  if (e.end < e.begin) throw bad("ends before it begins");
  if (e.end - e.begin != elements * *size)
    throw bad("has " + std::to_string(e.end - e.begin) + " bytes of data for shape " +
              shape_str(e.shape) + " of " + e.dtype + ", which needs " +
              std::to_string(elements * *size));
  return e;
}

// Counts brackets outside strings, a scan whose cost is the header's length whatever it holds.
inline void check_nesting(std::string_view text, const std::filesystem::path& file) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_header_depth)
        throw SafetensorsError(file, "has a malformed header: it nests deeper than " +
                                         std::to_string(max_header_depth) +
                                         " levels (an object of tensors, each with a shape)");
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
}

// Parses the header event by event, keeping no JSON beyond the tensor being read: a parsed
// document costs about twenty times its text, so a header of 100 MB would take gigabytes. The
// metadata, which a load does not interpret, is skipped; keys a tensor's entry does not define are
// ignored. A key that appears twice is refused (among tensors, or among one tensor's fields):
// JSON parsers disagree on which one wins, so such a file may mean different tensors to
// different readers.
inline std::map<std::string, Entry> parse_header(std::string_view text,
                                                 const std::filesystem::path& file) {
  using Json = nlohmann::json;
  using Event = Json::parse_event_t;
  check_nesting(text, file);
  const auto malformed = [&](const std::string& what) {
    return SafetensorsError(file, "has a malformed header: " + what);
  };
  static constexpr std::array<std::string_view, 3> fields{"dtype", "shape", "data_offsets"};
  std::map<std::string, Entry> tensors;
  std::string name;  // the top-level key whose value is being read
  bool seen_metadata = false, in_field = false;
  unsigned seen_fields = 0;      // of the current tensor, one bit per entry of `fields`
  std::size_t field_values = 0;  // the numbers of its shape and offsets, so far
  const auto on_event = [&](int depth, Event event, Json& parsed) {
    if (depth == 0) {
      if (event == Event::array_start || event == Event::value)
        throw malformed("it is not a JSON object");
      return true;
    }
    if (depth == 1 && event == Event::key) {
      name = parsed.get<std::string>();
      if (name == "__metadata__" ? std::exchange(seen_metadata, true) : tensors.contains(name))
        throw malformed("key '" + name + "' appears twice");
      seen_fields = 0;
      field_values = 0;
      return name != "__metadata__";
    }
    if (name == "__metadata__") return false;
    if (depth == 1 &&
        (event == Event::object_end || event == Event::array_end || event == Event::value)) {
      tensors.emplace(name, parse_entry(file, name, parsed));
      return false;
    }
    if (depth == 2 && event == Event::key) {
      const auto field =
          std::find(fields.begin(), fields.end(), parsed.get_ref<const std::string&>());
      in_field = field != fields.end();
      if (!in_field) return false;
      const unsigned bit = 1u << (field - fields.begin());
      if (seen_fields & bit)
        throw malformed("key '" + std::string(*field) + "' appears twice in tensor '" + name + "'");
      seen_fields |= bit;
    }
    if (depth == 3 && in_field && (event == Event::value || event == Event::key) &&
        ++field_values > max_tensor_values)
      throw malformed("tensor '" + name + "' has more than " + std::to_string(max_tensor_values) +
                      " numbers in its shape and data_offsets");
    return true;
  };
  if (Json::parse(text, on_event, false).is_discarded()) throw malformed("it is not valid JSON");
  return tensors;
}

// Checks the whole file: the header length, the JSON header, every entry, and that the tensors
// tile the data section exactly (no overlap, no gap, nothing missing at the end). The result
// points into `b`.
inline File parse_file(std::span<const std::uint8_t> b, const std::filesystem::path& file) {
  File f;
  f.bytes = b;
  if (b.size() < 8)
    throw SafetensorsError(file, "is truncated: it has " + std::to_string(b.size()) +
                                     " bytes, fewer than the 8 of its header length");
  std::uint64_t header_size = 0;
  for (std::size_t i = 0; i < 8; ++i) header_size |= std::uint64_t{b[i]} << (8 * i);
  if (header_size > max_header_size)
    throw SafetensorsError(file, "is not a safetensors file: its header length " +
                                     std::to_string(header_size) + " is larger than the limit " +
                                     std::to_string(max_header_size));
  if (b.size() - 8 < header_size)
    throw SafetensorsError(file, "is truncated: it has " + std::to_string(b.size()) +
                                     " bytes, fewer than its " + std::to_string(header_size) +
                                     "-byte header needs");
  f.data_start = 8 + static_cast<std::size_t>(header_size);
  f.tensors = parse_header(
      {reinterpret_cast<const char*>(b.data() + 8), static_cast<std::size_t>(header_size)}, file);

  std::vector<const Entry*> by_offset;
  for (const auto& [name, entry] : f.tensors) by_offset.push_back(&entry);
  // By start, then end, as the reference implementation: an empty tensor may share its start
  // with the next one.
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* x, const Entry* y) {
    return std::pair(x->begin, x->end) < std::pair(y->begin, y->end);
  });
  const std::uint64_t data_size = b.size() - f.data_start;
  std::uint64_t covered = 0;
  for (const Entry* e : by_offset) {
    if (e->begin != covered)
      throw SafetensorsError(
          file, "is malformed: tensor '" + e->name + "' starts at data byte " +
                    std::to_string(e->begin) +
                    (e->begin < covered ? ", inside the previous tensor" : ", after a gap") +
                    " (expected " + std::to_string(covered) + ")");
    if (e->end > data_size)
      throw SafetensorsError(file, "is truncated: tensor '" + e->name + "' ends at data byte " +
                                       std::to_string(e->end) + " but the file has only " +
                                       std::to_string(data_size) + " bytes of data");
    covered = e->end;
  }
  if (covered != data_size)
    throw SafetensorsError(file, "is malformed: " + std::to_string(data_size - covered) +
                                     " bytes after the last tensor's data");
  return f;
}

inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0)
    return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
  const float subnormal = std::ldexp(static_cast<float>(mantissa), -24);
  return sign ? -subnormal : subnormal;
}

// Converts n little-endian values of a loadable dtype to float (F64 rounds to nearest).
inline void to_floats(std::string_view dtype, const std::uint8_t* src, float* dst, std::size_t n) {
  const auto le = [&](std::size_t i, std::size_t width) {
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < width; ++k) v |= std::uint64_t{src[i * width + k]} << (8 * k);
    return v;
  };
  if (dtype == "F32") {
    io::read_le_floats(src, dst, n);
  } else if (dtype == "F64") {
    for (std::size_t i = 0; i < n; ++i)
      dst[i] = static_cast<float>(std::bit_cast<double>(le(i, 8)));
  } else if (dtype == "F16") {
    for (std::size_t i = 0; i < n; ++i)
      dst[i] = half_to_float(static_cast<std::uint16_t>(le(i, 2)));
  } else {  // BF16: the upper half of a float32
    for (std::size_t i = 0; i < n; ++i)
      dst[i] = std::bit_cast<float>(static_cast<std::uint32_t>(le(i, 2) << 16));
  }
}

inline bool has_prefix(const std::vector<std::string>& prefixes, std::string_view name) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return name.starts_with(p); });
}

inline std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

// BatchNorm's step counter, which strata does not keep: accepted where the network has the
// BatchNorm it belongs to.
inline bool is_batch_counter(const std::vector<io::TensorRef>& network, std::string_view name) {
  constexpr std::string_view suffix = "num_batches_tracked";
  if (!name.ends_with(suffix)) return false;
  const std::string mean =
      std::string(name.substr(0, name.size() - suffix.size())) + "running_mean";
  return std::any_of(network.begin(), network.end(),
                     [&](const io::TensorRef& t) { return t.name == mean; });
}

}  // namespace detail::safetensors

// Loads the model's parameters and buffers from the bytes of a safetensors file, converting F64,
// F16 and BF16 to float; `file` names the bytes in messages. Throws SafetensorsError, naming
// every tensor at fault, if the bytes are malformed or do not fit the network (see LoadOptions);
// the model is then unchanged.
template <class Net, class Backend>
LoadReport load_safetensors_from_memory(std::span<const std::uint8_t> bytes,
                                        Model<Net, Backend>& model, const LoadOptions& options = {},
                                        const std::filesystem::path& file = "<memory>") {
  using namespace detail::safetensors;
  const File f = parse_file(bytes, file);
  detail::io::HostTensors host(model);
  const std::vector<detail::io::TensorRef>& network = host.refs();
  LoadReport report;
  std::vector<std::string> missing, unexpected, reshaped, unloadable;
  std::vector<std::pair<const detail::io::TensorRef*, const Entry*>> plan;
  std::set<std::string_view> matched;
  for (const detail::io::TensorRef& t : network) {
    const std::string name(t.name);
    const auto it = f.tensors.find(name);
    const bool may_miss = has_prefix(options.allow_missing, name);
    if (it == f.tensors.end()) {
      if (may_miss)
        report.kept.push_back(name);
      else
        missing.push_back("'" + name + "' " + shape_str(t.dims, t.rank));
      continue;
    }
    const Entry& e = it->second;
    matched.insert(e.name);
    const bool same_shape =
        e.shape.size() == t.rank && std::equal(e.shape.begin(), e.shape.end(), t.dims.begin());
    if (!same_shape) {
      if (may_miss && has_prefix(options.allow_unexpected, name)) {
        report.kept.push_back(name);
        report.ignored.push_back(name);
      } else {
        reshaped.push_back("'" + name + "' is " + shape_str(t.dims, t.rank) +
                           " in the network but " + shape_str(e.shape) + " in the file");
      }
    } else if (!loadable(e.dtype)) {
      unloadable.push_back("'" + name + "' is " + e.dtype);
    } else {
      plan.emplace_back(&t, &e);
    }
  }
  for (const auto& [name, e] : f.tensors) {
    if (matched.contains(name)) continue;
    if (is_batch_counter(network, name) || has_prefix(options.allow_unexpected, name))
      report.ignored.push_back(name);
    else
      unexpected.push_back("'" + name + "' " + shape_str(e.shape));
  }

  if (!missing.empty() || !unexpected.empty() || !reshaped.empty() || !unloadable.empty()) {
    std::string what = "does not fit this network:";
    if (!missing.empty())
      what +=
          "\n  missing from the file (" + std::to_string(missing.size()) + "): " + join(missing);
    if (!unexpected.empty())
      what +=
          "\n  not in the network (" + std::to_string(unexpected.size()) + "): " + join(unexpected);
    if (!reshaped.empty())
      what += "\n  different shape (" + std::to_string(reshaped.size()) + "): " + join(reshaped);
    if (!unloadable.empty())
      what += "\n  dtype that cannot be loaded (" + std::to_string(unloadable.size()) +
              "; strata loads F32, F64, F16 and BF16): " + join(unloadable);
    if (!missing.empty() || !unexpected.empty() || !reshaped.empty())
      what += "\n  (LoadOptions' allow_missing and allow_unexpected accept tensors by name prefix)";
    throw SafetensorsError(file, what);
  }
  if (!options.allow_non_finite) {
    std::vector<std::string> non_finite;
    for (const auto& [t, e] : plan)
      // Counted once converted: a finite F64 may be too large for a float.
      if (const std::size_t n = detail::io::count_non_finite(
              t->size, [&, e = e](std::size_t first, std::size_t count, float* out) {
                const std::size_t width = *element_size(e->dtype);
                to_floats(e->dtype, f.bytes.data() + f.data_start + e->begin + first * width, out,
                          count);
              }))
        non_finite.push_back("'" + e->name + "' has " + std::to_string(n) + " of " +
                             std::to_string(t->size));
    if (!non_finite.empty())
      throw SafetensorsError(file, "holds values that are NaN or infinite (" + join(non_finite) +
                                       "; LoadOptions' allow_non_finite accepts them)");
  }
  for (const auto& [t, e] : plan)
    to_floats(e->dtype, f.bytes.data() + f.data_start + e->begin, t->value, t->size);
  host.commit();
  return report;
}

// As load_safetensors_from_memory, from a file.
template <class Net, class Backend>
LoadReport load_safetensors(const std::filesystem::path& file, Model<Net, Backend>& model,
                            const LoadOptions& options = {}) {
  return load_safetensors_from_memory(detail::io::read_whole_file<SafetensorsError>(file), model,
                                      options, file);
}

// Saves the model's parameters and buffers as F32, under the model's names, with the metadata
// {"format": "pt"} (as PyTorch's writers put it) plus the given entries.
template <class Net, class Backend>
void save_safetensors(const std::filesystem::path& file, Model<Net, Backend>& model,
                      const std::map<std::string, std::string>& metadata = {}) {
  using namespace detail::safetensors;
  const detail::io::HostTensors host(model);
  const std::vector<detail::io::TensorRef>& network = host.refs();
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  for (const auto& [key, value] : metadata) header["__metadata__"][key] = value;
  std::size_t offset = 0;
  for (const detail::io::TensorRef& t : network) {
    const std::size_t bytes = t.size * sizeof(float);
    header[std::string(t.name)] = {
        {"dtype", "F32"},
        {"shape", std::vector<std::size_t>(t.dims.begin(), t.dims.begin() + t.rank)},
        {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // The reference writer pads with spaces so that the data starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<std::uint8_t> out;
  out.reserve(8 + text.size() + offset);
  for (std::size_t i = 0; i < 8; ++i)
    out.push_back(static_cast<std::uint8_t>(std::uint64_t{text.size()} >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  for (const detail::io::TensorRef& t : network) detail::io::append_le_floats(out, t.value, t.size);
  detail::io::write_atomically<SafetensorsError>(file, out);
}

}  // namespace strata
