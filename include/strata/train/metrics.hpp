// Classification metrics over an evaluation: top-1 and top-k accuracy and the confusion matrix,
// accumulated batch by batch from a model's logits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "strata/train/loss.hpp"

namespace strata {

// Indices of the k largest values, largest first; equal values in index order, so the first is
// the argmax that count_correct uses.
inline std::vector<std::size_t> top_k(std::span<const float> values, std::size_t k) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  k = std::min(k, values.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](std::size_t a, std::size_t b) {
                      return values[a] > values[b] || (values[a] == values[b] && a < b);
                    });
  order.resize(k);
  return order;
}

// Probabilities from logits, computed in double with the maximum subtracted (no overflow).
inline std::vector<double> softmax(std::span<const float> logits) {
  if (logits.empty()) return {};
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double total = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) total += p[i] = std::exp(logits[i] - top);
  for (double& v : p) v /= total;
  return p;
}

// The softmax averaged over each run of `group` consecutive rows of [rows, classes] logits: the
// probabilities of several views of one image (ten_crop), [rows / group, classes].
inline std::vector<double> mean_softmax(std::span<const float> logits, std::size_t classes,
                                        std::size_t group) {
  if (classes == 0 || group == 0 || logits.size() % (classes * group) != 0)
    throw std::invalid_argument("mean_softmax: " + std::to_string(logits.size()) +
                                " logits are not whole groups of " + std::to_string(group) +
                                " rows of " + std::to_string(classes));
  std::vector<double> out(logits.size() / group);  // [rows / group, classes]
  for (std::size_t row = 0; row < logits.size() / classes; ++row) {
    const std::vector<double> p = softmax(logits.subspan(row * classes, classes));
    for (std::size_t k = 0; k < classes; ++k)
      out[row / group * classes + k] += p[k] / static_cast<double>(group);
  }
  return out;
}

// A model's softmax averaged over each image's ten crops (data::ten_crop_transform's batch,
// [10 images, C, H, W]): [images, classes] probabilities.
template <class M>
std::vector<double> ten_crop_probabilities(M& model, std::span<const float> crops) {
  const std::vector<float> logits = model.forward(crops).read();  // [10 images, classes]
  return mean_softmax(logits, M::output_shape::size, 10);
}

// Accumulates top-1, top-k and the confusion matrix (rows: true class, columns: predicted).
class Evaluation {
 public:
  explicit Evaluation(std::size_t classes, std::size_t k = 5)
      : classes_(classes), k_(k), confusion_(classes * classes, 0) {
    if (classes == 0 || k == 0)
      throw std::invalid_argument("Evaluation: classes and k must be positive");
  }

  // One sample: its logits (one per class) and its label.
  void add(std::span<const float> logits, std::int32_t label) {
    if (logits.size() != classes_)
      throw std::invalid_argument("Evaluation::add: " + std::to_string(logits.size()) +
                                  " logits for " + std::to_string(classes_) + " classes");
    if (label < 0 || static_cast<std::size_t>(label) >= classes_)
      throw std::invalid_argument("Evaluation::add: label " + std::to_string(label) +
                                  " is not a class in [0, " + std::to_string(classes_) + ")");
    const auto best = top_k(logits, k_);
    const auto truth = static_cast<std::size_t>(label);
    ++count_;
    correct_ += best.front() == truth;
    correct_k_ += std::find(best.begin(), best.end(), truth) != best.end();
    ++confusion_[truth * classes_ + best.front()];
  }

  // A batch of a model's output with its labels.
  template <class S, class T, class Backend>
  void add(const Output<S, T, Backend>& logits, std::span<const std::int32_t> labels) {
    static_assert(S::rank == 1, "Evaluation::add: the network's output must be flat");
    if (labels.size() < logits.batch)
      throw std::invalid_argument("Evaluation::add: " + std::to_string(labels.size()) +
                                  " labels for a batch of " + std::to_string(logits.batch));
    thread_local std::vector<T> copy;
    const std::span<const T> values = host_values(logits, copy);
    for (std::size_t n = 0; n < logits.batch; ++n)
      add(values.subspan(n * S::size, S::size), labels[n]);
  }

  std::size_t classes() const { return classes_; }
  std::size_t k() const { return k_; }
  std::size_t count() const { return count_; }
  double top1() const { return count_ ? double(correct_) / double(count_) : 0.0; }
  double topk() const { return count_ ? double(correct_k_) / double(count_) : 0.0; }
  std::size_t confusion(std::size_t truth, std::size_t predicted) const {
    return confusion_.at(truth * classes_ + predicted);
  }

  // The matrix as text, one row per true class; `names` (optional) label rows and columns,
  // columns by their first 5 characters.
  std::string confusion_table(std::span<const std::string_view> names = {}) const {
    const auto name = [&](std::size_t c) {
      return c < names.size() ? std::string(names[c]) : std::to_string(c);
    };
    const std::string corner = "true \\ predicted";
    std::size_t first = corner.size();
    for (std::size_t c = 0; c < classes_; ++c) first = std::max(first, name(c).size());
    const auto padded = [first](std::string text) {
      text.resize(first, ' ');
      return text;
    };
    char cell[32];
    std::string out = padded(corner);
    for (std::size_t c = 0; c < classes_; ++c) {
      std::snprintf(cell, sizeof cell, " %6.5s", name(c).c_str());
      out += cell;
    }
    for (std::size_t t = 0; t < classes_; ++t) {
      out += '\n';
      out += padded(name(t));
      for (std::size_t p = 0; p < classes_; ++p) {
        std::snprintf(cell, sizeof cell, " %6zu", confusion(t, p));
        out += cell;
      }
    }
    return out;
  }

 private:
  std::size_t classes_, k_;
  std::size_t count_ = 0, correct_ = 0, correct_k_ = 0;
  std::vector<std::size_t> confusion_;
};

}  // namespace strata
