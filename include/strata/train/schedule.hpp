// Learning-rate schedules: functions of the step number that an optimizer's options().lr is set
// from before each step.
//   CosineSchedule: linear warm-up from 0 over `warmup` steps, then PyTorch's CosineAnnealingLR
//   (eta_min + (base - eta_min) * (1 + cos(pi * t / T)) / 2) over the remaining steps.
#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>
#include <stdexcept>

namespace strata {

struct CosineSchedule {
  float base_lr = 0.1f;
  std::size_t total_steps = 1;
  std::size_t warmup = 0;
  float min_lr = 0.0f;

  float operator()(std::size_t step) const {
    if (total_steps == 0 || warmup > total_steps)
      throw std::invalid_argument("CosineSchedule: need 0 < total_steps and warmup <= total_steps");
    if (step < warmup) return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
    const double t = static_cast<double>(std::min(step, total_steps) - warmup);
    const double span = static_cast<double>(total_steps - warmup);
    const double cosine = span == 0 ? 1.0 : (1.0 + std::cos(std::numbers::pi * t / span)) / 2.0;
    return static_cast<float>(min_lr + (base_lr - min_lr) * cosine);
  }
};

}  // namespace strata
