// Optimizer golden cases (tests/golden/{sgd*,adam*,groups_*}.txt): two tensors p0 [3,4] and
// p1 [4] stepped three times with PyTorch's gradients, compared after every step.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <string>

#include "golden.hpp"
#include "strata/train/optim.hpp"

namespace strata::test {

// The two tensors in caller-owned arrays, exposed as Parameters the way a Model exposes its own.
struct TwoTensors {
  std::array<float, 12> p0{}, g0{};
  std::array<float, 4> p1{}, g1{};
  std::array<Parameter, 2> params;

  explicit TwoTensors(const Golden& g) {
    load(g, "p0_init", p0);
    load(g, "p1_init", p1);
    params[0] = {"p0", {3, 4}, 2, p0.data(), g0.data(), p0.size(), true};
    params[1] = {"p1", {4}, 1, p1.data(), g1.data(), p1.size(), true};
  }

  template <std::size_t N>
  static void load(const Golden& g, const std::string& name, std::array<float, N>& out) {
    const GoldenTensor& t = g.tensor(name);
    REQUIRE(t.size() == N);
    std::copy(t.values.begin(), t.values.end(), out.begin());
  }
};

template <std::size_t N>
void check_step(const std::array<float, N>& actual, const Golden& g, const std::string& name) {
  INFO(g.path().filename().string() << ": " << name);
  const GoldenTensor& expected = g.tensor(name);
  REQUIRE(expected.size() == N);
  // The golden values are float64; three float32 steps on O(1) values lose a few ulps.
  for (std::size_t i = 0; i < N; ++i) {
    CAPTURE(i);
    CHECK(actual[i] == doctest::Approx(expected.values[i]).epsilon(1e-5).scale(1.0));
  }
}

// Feeds the golden gradients step by step and compares the parameters after each step. Where the
// case has p0 without a gradient at step k (scalar p0_frozen_step<k>), p0 is frozen for that step.
template <class Optimizer>
void run_golden(const Golden& g, TwoTensors& t, Optimizer& optimizer) {
  const int steps = static_cast<int>(g.scalar("steps"));
  REQUIRE(steps == 3);
  for (int k = 1; k <= steps; ++k) {
    const std::string suffix = "_step" + std::to_string(k);
    TwoTensors::load(g, "g0" + suffix, t.g0);
    TwoTensors::load(g, "g1" + suffix, t.g1);
    t.params[0].trainable = !g.has_scalar("p0_frozen" + suffix);
    optimizer.step();
    check_step(t.p0, g, "p0" + suffix);
    check_step(t.p1, g, "p1" + suffix);
  }
  CHECK(optimizer.steps() == std::size_t(steps));
}

inline SgdOptions sgd_options(const Golden& g) {
  return {.lr = float(g.scalar("lr")),
          .momentum = float(g.scalar("momentum")),
          .dampening = float(g.scalar("dampening")),
          .weight_decay = float(g.scalar("weight_decay")),
          .nesterov = g.scalar("nesterov") != 0};
}

inline AdamOptions adam_options(const Golden& g) {
  REQUIRE(g.scalar("amsgrad") == 0);  // strata has no AMSGrad
  return {.lr = float(g.scalar("lr")),
          .beta1 = float(g.scalar("beta1")),
          .beta2 = float(g.scalar("beta2")),
          .eps = float(g.scalar("eps")),
          .weight_decay = float(g.scalar("weight_decay"))};
}

}  // namespace strata::test
