// cross_entropy's option checks, shared by the CPU and CUDA backends (compiled by g++ and nvcc
// alike), so that both refuse the same values with the same message.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

namespace strata::backend {

inline void check_cross_entropy_options(double label_smoothing, double weight) {
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    throw std::invalid_argument("cross_entropy: label_smoothing must be in [0, 1], got " +
                                std::to_string(label_smoothing));
  if (!std::isfinite(weight))
    throw std::invalid_argument("cross_entropy: weight must be finite, got " +
                                std::to_string(weight));
}

}  // namespace strata::backend
