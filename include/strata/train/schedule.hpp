// Learning-rate schedules: functions of the step number that an optimizer's options().lr is set
// from before each step,
//
//   optimizer.options().lr = schedule(step);
//
// where schedule(k) is the rate PyTorch's scheduler leaves in the optimizer after k calls of
// scheduler.step() (schedule(0): the rate of the first optimizer step). PyTorch calls k an
// epoch but leaves its unit to the caller; so do these. StepLR and MultiStepLR are usually
// counted in epochs (step_size, milestones: the classic recipes' "divide by 10 at epochs 30 and
// 60"), so a loop that counts batches, as examples::train's before_step does, passes
// step / batches_per_epoch; OneCycle is counted in batches; CosineSchedule in either.
//   CosineSchedule: linear warm-up from 0 over `warmup` steps, then PyTorch's CosineAnnealingLR
//   (eta_min + (base - eta_min) * (1 + cos(pi * t / T)) / 2) over the remaining steps.
//   StepLR, MultiStepLR: base_lr * gamma^k, k the number of step_size periods, or of milestones,
//   passed (PyTorch's closed form; its chained products agree to rounding).
//   OneCycle: PyTorch's OneCycleLR (without its momentum cycling).
//   ReduceLROnPlateau: PyTorch's; stateful, fed a validation metric once per epoch.
// Lrs are float, as the optimizers' are; the arithmetic is in double, as PyTorch's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

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

namespace detail {

// The checks run on every call, once per step: the message is built only when one fails.
[[noreturn]] inline void invalid(const char* schedule, const std::string& what) {
  throw std::invalid_argument(std::string(schedule) + ": " + what);
}

inline void check_gamma(const char* schedule, double gamma) {
  if (!(std::isfinite(gamma) && gamma > 0))
    invalid(schedule, "gamma must be positive and finite, got " + std::to_string(gamma));
}

}  // namespace detail

// torch.optim.lr_scheduler.StepLR: the rate is multiplied by gamma every step_size steps.
struct StepLR {
  float base_lr = 0.1f;
  std::size_t step_size = 1;
  double gamma = 0.1;

  float operator()(std::size_t step) const {
    if (step_size == 0) detail::invalid("StepLR", "step_size must be positive, got 0");
    detail::check_gamma("StepLR", gamma);
    return static_cast<float>(base_lr * std::pow(gamma, static_cast<double>(step / step_size)));
  }
};

// torch.optim.lr_scheduler.MultiStepLR: the rate is multiplied by gamma at each milestone.
// PyTorch counts a repeated milestone twice; here milestones must increase strictly, so that a
// typo is not a silent hundredfold drop.
struct MultiStepLR {
  float base_lr = 0.1f;
  std::vector<std::size_t> milestones;
  double gamma = 0.1;

  float operator()(std::size_t step) const {
    for (std::size_t i = 1; i < milestones.size(); ++i)
      if (milestones[i - 1] >= milestones[i])
        detail::invalid("MultiStepLR", "milestones must be strictly increasing, got " +
                                           std::to_string(milestones[i]) + " after " +
                                           std::to_string(milestones[i - 1]));
    detail::check_gamma("MultiStepLR", gamma);
    const auto passed = std::upper_bound(milestones.begin(), milestones.end(), step);
    return static_cast<float>(base_lr *
                              std::pow(gamma, static_cast<double>(passed - milestones.begin())));
  }
};

// torch.optim.lr_scheduler.OneCycleLR (1cycle, Smith and Topin, "Super-Convergence", 2017): from
// max_lr / div_factor up to max_lr over the first pct_start of the steps, then down to
// max_lr / div_factor / final_div_factor; with three_phase, back down to the initial rate
// symmetrically first and to the minimum over the rest. Per batch: total_steps is the number of
// optimizer steps. As in PyTorch, phase i ends at step pct_start * total_steps - 1 (- 2 for the
// second of three) and the last at total_steps - 1; step total_steps, the rate after the last
// scheduler.step(), is allowed and extrapolates the last phase; a later step is an error.
struct OneCycle {
  enum class Anneal { cos, linear };

  float max_lr = 0.1f;
  std::size_t total_steps = 1;
  double pct_start = 0.3;
  Anneal anneal_strategy = Anneal::cos;
  double div_factor = 25;
  double final_div_factor = 1e4;
  bool three_phase = false;

  float operator()(std::size_t step) const {
    if (total_steps == 0) detail::invalid("OneCycle", "total_steps must be positive, got 0");
    if (!(pct_start > 0 && pct_start < 1))
      detail::invalid("OneCycle", "pct_start must be in (0, 1), got " + std::to_string(pct_start));
    if (!(std::isfinite(div_factor) && div_factor > 0))
      detail::invalid("OneCycle", "div_factor must be positive, got " + std::to_string(div_factor));
    if (!(std::isfinite(final_div_factor) && final_div_factor > 0))
      detail::invalid("OneCycle",
                      "final_div_factor must be positive, got " + std::to_string(final_div_factor));
    if (step > total_steps)
      throw std::out_of_range("OneCycle: step " + std::to_string(step) + " is beyond total_steps " +
                              std::to_string(total_steps));
    const double total = static_cast<double>(total_steps);
    const double initial = double(max_lr) / div_factor, minimum = initial / final_div_factor;
    struct Phase {
      double end_step, start_lr, end_lr;
    };
    const Phase two[] = {{pct_start * total - 1, initial, max_lr}, {total - 1, max_lr, minimum}};
    const Phase three[] = {{pct_start * total - 1, initial, max_lr},
                           {2 * pct_start * total - 2, max_lr, initial},
                           {total - 1, initial, minimum}};
    const Phase* phases = three_phase ? three : two;
    const std::size_t count = three_phase ? 3 : 2;
    // A phase of no length, where PyTorch divides by zero (ZeroDivisionError): the warm-up (and
    // so the second of three phases) when pct_start * total_steps is 1, the third of three when
    // it is (total_steps + 1) / 2. Tested on the product alone, since a compiler may fuse the
    // end steps' multiply-subtract (-ffp-contract) and miss the zero.
    const double warm = pct_start * total;
    if (warm == 1 || (three_phase && 2 * warm == total + 1))
      detail::invalid("OneCycle", "pct_start " + std::to_string(pct_start) + " with total_steps " +
                                      std::to_string(total_steps) + " leaves a phase no steps");
    const double t = static_cast<double>(step);
    double start_step = 0;
    std::size_t i = 0;
    while (t > phases[i].end_step && i < count - 1) start_step = phases[i++].end_step;
    const Phase& phase = phases[i];
    const double pct = (t - start_step) / (phase.end_step - start_step);
    const double lr = anneal_strategy == Anneal::cos
                          ? phase.end_lr + (phase.start_lr - phase.end_lr) / 2.0 *
                                               (std::cos(std::numbers::pi * pct) + 1)
                          : (phase.end_lr - phase.start_lr) * pct + phase.start_lr;
    return static_cast<float>(lr);
  }
};

// torch.optim.lr_scheduler.ReduceLROnPlateau: multiplies the rate by factor (not below min_lr)
// once the metric has failed to improve on its best by more than threshold for more than
// patience consecutive calls, then ignores cooldown calls. A reduction by no more than eps is
// skipped. AlexNet's recipe: divide by 10 when the validation error stops improving,
//
//   ReduceLROnPlateau plateau{optimizer.options().lr};
//   ... after each epoch:  optimizer.options().lr = plateau.step(validation_error);
struct PlateauOptions {
  enum class Mode { min, max };
  enum class ThresholdMode { rel, abs };
  Mode mode = Mode::min;
  double factor = 0.1;
  std::size_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::rel;
  std::size_t cooldown = 0;
  double min_lr = 0;
  double eps = 1e-8;
};

class ReduceLROnPlateau {
 public:
  // Outside the class, so that its default member initializers can serve as a default argument.
  using Options = PlateauOptions;
  using Mode = Options::Mode;
  using ThresholdMode = Options::ThresholdMode;

  explicit ReduceLROnPlateau(double lr, Options options = {}) : options_(options), lr_(lr) {
    constexpr const char* name = "ReduceLROnPlateau";
    if (!(std::isfinite(lr) && lr >= 0))
      detail::invalid(name, "lr must be finite and not negative, got " + std::to_string(lr));
    if (!(options.factor >= 0 && options.factor < 1))
      detail::invalid(name, "factor must be in [0, 1), got " + std::to_string(options.factor));
    if (!(std::isfinite(options.threshold) && options.threshold >= 0))
      detail::invalid(name, "threshold must be finite and not negative, got " +
                                std::to_string(options.threshold));
    if (!(std::isfinite(options.min_lr) && options.min_lr >= 0))
      detail::invalid(
          name, "min_lr must be finite and not negative, got " + std::to_string(options.min_lr));
    if (!(options.eps >= 0))
      detail::invalid(name, "eps must not be negative, got " + std::to_string(options.eps));
    best_ = worst();
  }

  // One epoch's metric (min: a loss or an error; max: an accuracy); returns the rate for the
  // next epoch. A NaN metric counts as no improvement, as in PyTorch.
  float step(double metric) {
    if (better(metric)) {
      best_ = metric;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
    if (cooldown_left_ > 0) {
      --cooldown_left_;
      bad_epochs_ = 0;
    }
    if (bad_epochs_ > options_.patience) {
      const double reduced = std::max(lr_ * options_.factor, options_.min_lr);
      if (lr_ - reduced > options_.eps) lr_ = reduced;
      cooldown_left_ = options_.cooldown;
      bad_epochs_ = 0;
    }
    return lr();
  }

  float lr() const { return static_cast<float>(lr_); }
  double best() const { return best_; }
  std::size_t bad_epochs() const { return bad_epochs_; }
  const Options& options() const { return options_; }

 private:
  double worst() const {
    constexpr double inf = std::numeric_limits<double>::infinity();
    return options_.mode == Mode::min ? inf : -inf;
  }
  bool better(double metric) const {
    const bool rel = options_.threshold_mode == ThresholdMode::rel;
    if (options_.mode == Mode::min)
      return metric < (rel ? best_ * (1 - options_.threshold) : best_ - options_.threshold);
    return metric > (rel ? best_ * (1 + options_.threshold) : best_ + options_.threshold);
  }

  Options options_;
  double lr_;
  double best_;
  std::size_t bad_epochs_ = 0;
  std::size_t cooldown_left_ = 0;
};

}  // namespace strata
