// Reader for the PyTorch golden files in tests/golden (written by tests/golden/make_golden.py).
//
// Format (text; see tests/golden/README.md):
//   # comment lines start with '#'
//   tensor <name> <rank> <d0> ... <d_{rank-1}>
//   <product(d) values, row-major, whitespace separated; may span several lines>
//   scalar <name> <value>
//
// Usage:
//   const strata::test::Golden g = strata::test::load_golden("conv_basic");
//   const auto& x = g.tensor("x");        // x.shape == {2, 3, 7, 7}, x.values row-major
//   const double stride = g.scalar("stride");
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace strata::test {

struct GoldenTensor {
  std::vector<std::size_t> shape;
  std::vector<double> values;  // row-major

  // Number of elements (the product of shape; 1 for rank 0).
  std::size_t size() const {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
  }
};

// One parsed golden file. Throws std::runtime_error naming the file (and the line, for format
// errors) on any error, including a lookup of a name the file does not hold.
class Golden {
 public:
  explicit Golden(const std::filesystem::path& path) : path_(path) {
    std::ifstream in(path);
    if (!in) fail("cannot open file");
    parse(in);
  }

  const GoldenTensor& tensor(std::string_view name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) fail("no tensor named '" + std::string(name) + "'");
    return it->second;
  }

  double scalar(std::string_view name) const {
    auto it = scalars_.find(name);
    if (it == scalars_.end()) fail("no scalar named '" + std::string(name) + "'");
    return it->second;
  }

  // True if the file holds a tensor or a scalar with this name.
  bool has(std::string_view name) const {
    return tensors_.find(name) != tensors_.end() || scalars_.find(name) != scalars_.end();
  }
  bool has_tensor(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
  bool has_scalar(std::string_view name) const { return scalars_.find(name) != scalars_.end(); }

  // Names in sorted order (for diagnostics).
  std::vector<std::string> tensor_names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : tensors_) out.push_back(k);
    return out;
  }
  std::vector<std::string> scalar_names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : scalars_) out.push_back(k);
    return out;
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& what, std::size_t line = 0) const {
    std::string msg = "golden file " + path_.string();
    if (line != 0) msg += ":" + std::to_string(line);
    throw std::runtime_error(msg + ": " + what);
  }

  static std::vector<std::string_view> split(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    auto is_space = [](char c) {
      return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
    };
    while (i < s.size()) {
      while (i < s.size() && is_space(s[i])) ++i;
      std::size_t j = i;
      while (j < s.size() && !is_space(s[j])) ++j;
      if (j > i) out.push_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }

  double parse_double(std::string_view tok, std::size_t line) const {
    double v = 0.0;
    const char* first = tok.data();
    const char* last = tok.data() + tok.size();
    if (first != last && *first == '+') ++first;  // from_chars rejects a leading '+'
    auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || ptr != last || first == last) {
      fail("bad number '" + std::string(tok) + "'", line);
    }
    return v;
  }

  std::size_t parse_size(std::string_view tok, std::size_t line) const {
    std::size_t v = 0;
    auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec != std::errc() || ptr != tok.data() + tok.size() || tok.empty()) {
      fail("bad non-negative integer '" + std::string(tok) + "'", line);
    }
    return v;
  }

  void check_new_name(std::string_view name, std::size_t line) const {
    if (has(name)) fail("duplicate name '" + std::string(name) + "'", line);
  }

  void parse(std::istream& in) {
    std::string line;
    std::size_t lineno = 0;
    GoldenTensor* pending = nullptr;  // tensor still reading values
    std::string pending_name;
    std::size_t pending_line = 0;
    std::size_t want = 0;

    while (std::getline(in, line)) {
      ++lineno;
      const auto toks = split(line);
      if (toks.empty()) continue;
      if (toks[0].front() == '#') continue;

      if (pending != nullptr) {
        for (std::string_view t : toks) {
          if (pending->values.size() == want) {
            fail("tensor '" + pending_name + "' has more values than its shape", lineno);
          }
          pending->values.push_back(parse_double(t, lineno));
        }
        if (pending->values.size() == want) pending = nullptr;
        continue;
      }

      if (toks[0] == "tensor") {
        if (toks.size() < 3) fail("expected 'tensor <name> <rank> <dims...>'", lineno);
        const std::string_view name = toks[1];
        check_new_name(name, lineno);
        const std::size_t rank = parse_size(toks[2], lineno);
        if (toks.size() != 3 + rank) {
          fail("tensor '" + std::string(name) + "' of rank " + std::to_string(rank) + " needs " +
                   std::to_string(rank) + " dims, got " + std::to_string(toks.size() - 3),
               lineno);
        }
        GoldenTensor t;
        for (std::size_t i = 0; i < rank; ++i) t.shape.push_back(parse_size(toks[3 + i], lineno));
        want = t.size();
        t.values.reserve(want);
        GoldenTensor& stored = tensors_.emplace(std::string(name), std::move(t)).first->second;
        if (want > 0) {
          pending = &stored;
          pending_name = std::string(name);
          pending_line = lineno;
        }
      } else if (toks[0] == "scalar") {
        if (toks.size() != 3) fail("expected 'scalar <name> <value>'", lineno);
        check_new_name(toks[1], lineno);
        scalars_.emplace(std::string(toks[1]), parse_double(toks[2], lineno));
      } else {
        fail("expected 'tensor', 'scalar' or a '#' comment, got '" + std::string(toks[0]) + "'",
             lineno);
      }
    }
    if (in.bad()) fail("read error", lineno);
    if (pending != nullptr) {
      fail("tensor '" + pending_name + "' (declared on line " + std::to_string(pending_line) +
               ") ends early: " + std::to_string(pending->values.size()) + " of " +
               std::to_string(want) + " values",
           lineno);
    }
  }

  std::filesystem::path path_;
  std::map<std::string, GoldenTensor, std::less<>> tensors_;
  std::map<std::string, double, std::less<>> scalars_;
};

// Directory of the golden files: the STRATA_GOLDEN_DIR macro (defined by the CMake build to the
// absolute path of tests/golden), or else the STRATA_GOLDEN_DIR environment variable.
inline std::filesystem::path golden_dir() {
#ifdef STRATA_GOLDEN_DIR
  return std::filesystem::path(STRATA_GOLDEN_DIR);
#else
  if (const char* env = std::getenv("STRATA_GOLDEN_DIR"); env != nullptr && *env != '\0') {
    return std::filesystem::path(env);
  }
  throw std::runtime_error(
      "golden_dir(): STRATA_GOLDEN_DIR is neither defined as a macro nor set in the environment");
#endif
}

// Loads golden_dir() / "<case_name>.txt".
inline Golden load_golden(std::string_view case_name) {
  return Golden(golden_dir() / (std::string(case_name) + ".txt"));
}

}  // namespace strata::test
