// Softmax cross-entropy with mean reduction and optional label smoothing, as
// nn.CrossEntropyLoss(reduction="mean", label_smoothing=s), and the mean squared error, as
// nn.MSELoss(reduction="mean" or "sum"). Computing a loss also writes its gradient with respect
// to the network's output into the model's output-gradient buffer, so that model.backward(loss)
// needs no allocation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <vector>

#include "strata/backend/default.hpp"
#include "strata/backend/kernels.hpp"
#include "strata/backend/loss_options.hpp"
#include "strata/core/shape.hpp"

namespace strata {

// A network's output for one batch, in Backend's memory, and the slot where the loss puts its
// gradient. generation numbers the model's forward passes, so that a loss computed from an
// earlier pass's output, whose buffers the later pass has overwritten, is refused by
// Model::backward.
template <class S, class T = float, class Backend = default_backend>
struct Output {
  using shape = S;
  using backend = Backend;
  const T* data = nullptr;
  T* grad = nullptr;
  std::size_t batch = 0;
  std::uint64_t generation = 0;

  // The values in place, where the host can read the backend's memory (the CPU); read() works
  // on every backend.
  std::span<const T> values() const requires kernels<Backend>::host_memory {
    return {data, batch * S::size};
  }
  std::span<const T> sample(std::size_t n) const requires kernels<Backend>::host_memory {
    return {data + n * S::size, S::size};
  }
  // A copy on the host, [batch, S].
  std::vector<T> read() const {
    std::vector<T> host;
    read_into(host);
    return host;
  }
  // The same into a vector the caller reuses (resized to [batch, S]).
  void read_into(std::vector<T>& host) const {
    host.resize(batch * S::size);
    kernels<Backend>::download(kernels<Backend>::make_exec(), host.size(), data, host.data());
  }
};

// The output's values on the host: in place where the host reads the backend's memory, else
// copied into copy (reused across calls, so that an evaluation loop allocates once).
template <class S, class T, class Backend>
std::span<const T> host_values(const Output<S, T, Backend>& output, std::vector<T>& copy) {
  if constexpr (kernels<Backend>::host_memory) {
    return output.values();
  } else {
    output.read_into(copy);
    return copy;
  }
}

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
// logits into grad; logits and grad are in Backend's memory, labels on the host.
template <class Backend = default_backend, class T>
double softmax_cross_entropy(const T* logits, std::size_t batch, std::size_t classes,
                             std::span<const std::int32_t> labels, double label_smoothing, T* grad,
                             double weight = 1.0) {
  if (labels.size() != batch)
    throw std::invalid_argument("cross_entropy: got " + std::to_string(labels.size()) +
                                " labels for a batch of " + std::to_string(batch));
  backend::check_cross_entropy_options(label_smoothing, weight);
  for (std::size_t n = 0; n < batch; ++n)
    if (labels[n] < 0 || static_cast<std::size_t>(labels[n]) >= classes)
      throw std::out_of_range("cross_entropy: label " + std::to_string(labels[n]) + " of sample " +
                              std::to_string(n) + " is outside [0, " + std::to_string(classes) +
                              ")");
  return kernels<Backend>::cross_entropy(kernels<Backend>::make_exec(), batch, classes, logits,
                                         labels.data(), label_smoothing, weight, grad);
}

template <class S, class T, class Backend>
Loss cross_entropy(const Output<S, T, Backend>& logits, std::span<const std::int32_t> labels,
                   CrossEntropyOptions options = {}) {
  static_assert(S::rank == 1, "cross_entropy: the network's output must be flat, Shape<classes>");
  const double value =
      softmax_cross_entropy<Backend>(logits.data, logits.batch, S::size, labels,
                                     options.label_smoothing, logits.grad, options.weight);
  return {value, logits.grad, logits.generation};
}

enum class Reduction { mean, sum };

struct MseOptions {
  Reduction reduction = Reduction::mean;
};

// nn.MSELoss: the squared differences between the output and targets, a host array of the
// output's [batch, S] values, averaged over all of them (mean) or summed; the gradient
// 2 * (output - target) / count (mean) or 2 * (output - target) (sum). T is the output's, so
// that a std::vector converts.
template <class S, class T, class Backend>
Loss mse_loss(const Output<S, T, Backend>& output, std::type_identity_t<std::span<const T>> targets,
              MseOptions options = {}) {
  const std::size_t count = output.batch * S::size;
  if (targets.size() != count)
    throw std::invalid_argument("mse_loss: got " + std::to_string(targets.size()) +
                                " targets for an output of " + std::to_string(count) +
                                " values (batch " + std::to_string(output.batch) + " of " +
                                S::str() + ")");
  const double scale = options.reduction == Reduction::mean ? 1.0 / double(count) : 1.0;
  const double value = kernels<Backend>::mse_loss(kernels<Backend>::make_exec(), count, output.data,
                                                  targets.data(), scale, output.grad);
  return {value, output.grad, output.generation};
}

// Number of samples whose highest logit is the label.
template <class S, class T, class Backend>
std::size_t count_correct(const Output<S, T, Backend>& logits,
                          std::span<const std::int32_t> labels) {
  thread_local std::vector<T> copy;
  const std::span<const T> values = host_values(logits, copy);
  std::size_t correct = 0;
  for (std::size_t n = 0; n < logits.batch && n < labels.size(); ++n) {
    const auto row = values.subspan(n * S::size, S::size);
    const auto best = std::max_element(row.begin(), row.end()) - row.begin();
    correct += best == labels[n];
  }
  return correct;
}

}  // namespace strata
