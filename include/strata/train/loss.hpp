// Softmax cross-entropy with mean reduction and optional label smoothing, as
// nn.CrossEntropyLoss(reduction="mean", label_smoothing=s). Computing the loss also writes its
// gradient with respect to the logits into the model's output-gradient buffer, so that
// model.backward(loss) needs no allocation.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "strata/backend/loss_options.hpp"
#include "strata/core/shape.hpp"

namespace strata {

// A network's output for one batch, and the slot where the loss puts its gradient. generation
// numbers the model's forward passes, so that a loss computed from an earlier pass's output,
// whose buffers the later pass has overwritten, is refused by Model::backward.
template <class S, class T = float>
struct Output {
  using shape = S;
  const T* data = nullptr;
  T* grad = nullptr;
  std::size_t batch = 0;
  std::uint64_t generation = 0;

  std::span<const T> values() const { return {data, batch * S::size}; }
  std::span<const T> sample(std::size_t n) const { return {data + n * S::size, S::size}; }
};

struct Loss {
  double value = 0;
  // The Output::grad it filled and that output's generation; checked by Model::backward.
  const void* gradient = nullptr;
  std::uint64_t generation = 0;
};

struct CrossEntropyOptions {
  double label_smoothing = 0.0;
  // Scales the value and the gradient: one term of a weighted sum of losses, e.g. torchvision's
  // GoogLeNet recipe main + 0.3 * (aux1 + aux2) (see auxiliary.hpp).
  double weight = 1.0;
};

// Returns weight times the mean loss over the batch and writes its gradient with respect to the
// logits into grad.
template <class T>
double softmax_cross_entropy(const T* logits, std::size_t batch, std::size_t classes,
                             std::span<const std::int32_t> labels, double label_smoothing, T* grad,
                             double weight = 1.0) {
  if (labels.size() != batch)
    throw std::invalid_argument("cross_entropy: got " + std::to_string(labels.size()) +
                                " labels for a batch of " + std::to_string(batch));
  backend::check_cross_entropy_options(label_smoothing, weight);
  const double on_target = 1.0 - label_smoothing, uniform = label_smoothing / double(classes);
  double total = 0;
  for (std::size_t n = 0; n < batch; ++n) {
    const std::int32_t label = labels[n];
    if (label < 0 || static_cast<std::size_t>(label) >= classes)
      throw std::out_of_range("cross_entropy: label " + std::to_string(label) + " of sample " +
                              std::to_string(n) + " is outside [0, " + std::to_string(classes) +
                              ")");
    const T* row = logits + n * classes;
    T* grad_row = grad + n * classes;
    const double top = *std::max_element(row, row + classes);
    double sum = 0;
    for (std::size_t k = 0; k < classes; ++k) sum += std::exp(double(row[k]) - top);
    const double log_sum = top + std::log(sum);
    double smoothed = 0;  // -mean_k log p_k
    for (std::size_t k = 0; k < classes; ++k) {
      const double log_p = double(row[k]) - log_sum;
      smoothed -= log_p;
      const double target = uniform + (k == static_cast<std::size_t>(label) ? on_target : 0.0);
      grad_row[k] = static_cast<T>(weight * (std::exp(log_p) - target) / double(batch));
    }
    total +=
        on_target * (log_sum - double(row[label])) + label_smoothing * smoothed / double(classes);
  }
  return weight * total / double(batch);
}

template <class S, class T>
Loss cross_entropy(const Output<S, T>& logits, std::span<const std::int32_t> labels,
                   CrossEntropyOptions options = {}) {
  static_assert(S::rank == 1, "cross_entropy: the network's output must be flat, Shape<classes>");
  const double value = softmax_cross_entropy(logits.data, logits.batch, S::size, labels,
                                             options.label_smoothing, logits.grad, options.weight);
  return {value, logits.grad, logits.generation};
}

// Number of samples whose highest logit is the label.
template <class S, class T>
std::size_t count_correct(const Output<S, T>& logits, std::span<const std::int32_t> labels) {
  std::size_t correct = 0;
  for (std::size_t n = 0; n < logits.batch && n < labels.size(); ++n) {
    const auto row = logits.sample(n);
    const auto best = std::max_element(row.begin(), row.end()) - row.begin();
    correct += best == labels[n];
  }
  return correct;
}

}  // namespace strata
