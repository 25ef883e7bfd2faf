// Optimizers against torch.optim (golden sgd*, adam*, adamw): three steps on two tensors with
// explicit gradients, compared after every step; plus frozen parameters and option checks.
// Learning-rate schedules against torch.optim.lr_scheduler (golden step_lr, multistep_lr,
// one_cycle*, plateau_*) and mse_loss against F.mse_loss (golden mse_loss*).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "conformance.hpp"
#include "golden.hpp"
#include "optim_golden.hpp"
#include "strata/strata.hpp"

namespace st = strata;
using strata::test::Golden;

using strata::test::adam_options;
using strata::test::run_golden;
using strata::test::sgd_options;
using strata::test::TwoTensors;

TEST_CASE("SGD matches torch.optim.SGD") {
  for (const char* name : {"sgd", "sgd_momentum", "sgd_nesterov"}) {
    CAPTURE(name);
    const Golden g = strata::test::load_golden(name);
    TwoTensors t(g);
    st::SGD sgd{t.params, sgd_options(g)};
    run_golden(g, t, sgd);
  }
}

TEST_CASE("Adam matches torch.optim.Adam") {
  for (const char* name : {"adam", "adam_wd"}) {
    CAPTURE(name);
    const Golden g = strata::test::load_golden(name);
    TwoTensors t(g);
    st::Adam adam{t.params, adam_options(g)};
    run_golden(g, t, adam);
  }
}

TEST_CASE("AdamW matches torch.optim.AdamW") {
  const Golden g = strata::test::load_golden("adamw");
  TwoTensors t(g);
  st::AdamW adamw{t.params, adam_options(g)};
  run_golden(g, t, adamw);
}

TEST_CASE("AdamW's default weight decay is PyTorch's 0.01") {
  std::array<float, 1> value{1.f}, grad{0.f};
  std::array<st::Parameter, 1> params{{{"w", {1}, 1, value.data(), grad.data(), 1, true}}};
  st::AdamW adamw{params};
  CHECK(adamw.options().weight_decay == doctest::Approx(0.01));
  CHECK(adamw.options().lr == doctest::Approx(1e-3));
}

TEST_CASE("a frozen parameter is not updated") {
  const Golden g = strata::test::load_golden("sgd_momentum");

  auto check_frozen = [&](auto make_optimizer) {
    TwoTensors t(g);
    t.params[0].trainable = false;
    auto optimizer = make_optimizer(t);
    const std::array<float, 12> p0_before = t.p0;
    const std::array<float, 4> p1_before = t.p1;
    // Decay and momentum would move p0 even with a zero gradient; non-zero gradients make sure.
    t.g0.fill(1.f);
    t.g1.fill(1.f);
    for (int k = 0; k < 3; ++k) optimizer.step();
    CHECK(t.p0 == p0_before);
    CHECK(t.p1 != p1_before);
  };
  SUBCASE("SGD") {
    check_frozen([](TwoTensors& t) {
      return st::SGD{t.params, {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.1f}};
    });
  }
  SUBCASE("Adam") {
    check_frozen([](TwoTensors& t) { return st::Adam{t.params, {.weight_decay = 0.1f}}; });
  }
  SUBCASE("AdamW") {
    check_frozen([](TwoTensors& t) { return st::AdamW{t.params, {.weight_decay = 0.1f}}; });
  }
}

TEST_CASE("a frozen model parameter keeps its values through training") {
  using Net = st::Sequential<st::InputFlat<6>, st::Linear<5>, st::ReLU, st::Linear<3>>;
  st::Model<Net> model{st::seed{4}};
  auto params = model.parameters();
  REQUIRE(params.size() == 4);
  params[0].trainable = false;  // "0.weight"
  CHECK(params[0].name == "0.weight");
  st::SGD sgd{model.parameters(), {.lr = 0.5f}};
  const std::vector<float> frozen(params[0].values().begin(), params[0].values().end());
  const std::vector<float> bias(params[1].values().begin(), params[1].values().end());
  const std::vector<float> x{1, -2, 3, -4, 5, -6, 0.5f, 0.25f, -1, 2, -3, 4};
  const std::vector<std::int32_t> labels{0, 2};
  for (int k = 0; k < 3; ++k) {
    model.backward(st::cross_entropy(model.forward(x), labels));
    sgd.step();
  }
  const auto after = params[0].values();
  CHECK(std::equal(after.begin(), after.end(), frozen.begin(), frozen.end()));
  const auto bias_after = params[1].values();
  CHECK_FALSE(std::equal(bias_after.begin(), bias_after.end(), bias.begin(), bias.end()));
}

TEST_CASE("SGD rejects Nesterov without momentum or with dampening") {
  std::array<float, 2> value{}, grad{};
  std::array<st::Parameter, 1> params{{{"w", {2}, 1, value.data(), grad.data(), 2, true}}};
  CHECK_THROWS_AS(st::SGD(params, {.lr = 0.1f, .nesterov = true}), std::invalid_argument);
  CHECK_THROWS_AS(
      st::SGD(params, {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.1f, .nesterov = true}),
      std::invalid_argument);
  CHECK_NOTHROW(st::SGD(params, {.lr = 0.1f, .momentum = 0.9f, .nesterov = true}));
}

// PyTorch honours requires_grad = False set after the optimizer is built; so must we.
TEST_CASE("freezing after the optimizer is built still freezes") {
  using Net = st::Sequential<st::InputFlat<6>, st::Linear<5>, st::ReLU, st::Linear<3>>;
  st::Model<Net> model{st::seed{4}};
  st::SGD sgd{model.parameters(), {.lr = 0.5f}};
  auto params = model.parameters();
  params[0].trainable = false;
  const std::vector<float> frozen(params[0].values().begin(), params[0].values().end());
  const std::vector<float> x{1, -2, 3, -4, 5, -6, 0.5f, 0.25f, -1, 2, -3, 4};
  const std::vector<std::int32_t> labels{0, 2};
  model.backward(st::cross_entropy(model.forward(x), labels));
  sgd.step();
  const auto after = params[0].values();
  CHECK(std::equal(after.begin(), after.end(), frozen.begin(), frozen.end()));
}

TEST_CASE("cosine schedule follows torch.optim.lr_scheduler.CosineAnnealingLR, after a warm-up") {
  // CosineAnnealingLR(SGD(lr=0.1), T_max=10, eta_min=0.001), lr before each of 11 steps, printed
  // by PyTorch 1.13.
  const double torch_lr[] = {0.10000000000000001,
                             0.097577297556610113,
                             0.090546341221559898,
                             0.079595369988477424,
                             0.065796341221559904,
                             0.050500000000000003,
                             0.03520365877844011,
                             0.021404630011522589,
                             0.010453658778440109,
                             0.0034227024433899004,
                             0.001};
  const st::CosineSchedule cosine{
      .base_lr = 0.1f, .total_steps = 10, .warmup = 0, .min_lr = 0.001f};
  for (std::size_t step = 0; step <= 10; ++step) {
    CAPTURE(step);
    CHECK(cosine(step) == doctest::Approx(torch_lr[step]).epsilon(1e-6));
  }
  // With a warm-up the rate climbs linearly, then the same curve runs over the remaining steps.
  const st::CosineSchedule warm{.base_lr = 0.1f, .total_steps = 14, .warmup = 4, .min_lr = 0.001f};
  CHECK(warm(0) == doctest::Approx(0.025));
  CHECK(warm(3) == doctest::Approx(0.1));
  for (std::size_t step = 4; step <= 14; ++step)
    CHECK(warm(step) == doctest::Approx(torch_lr[step - 4]).epsilon(1e-6));
  CHECK_THROWS_AS((st::CosineSchedule{.total_steps = 2, .warmup = 3})(0), std::invalid_argument);
}

namespace {

// The lrs of a schedule golden file: the rate after k scheduler.step() calls, k = 0, 1, ...
void check_schedule(const Golden& g, auto&& schedule) {
  const std::vector<double>& lrs = g.tensor("lrs").values;
  for (std::size_t step = 0; step < lrs.size(); ++step) {
    CAPTURE(step);
    CHECK(schedule(step) == doctest::Approx(lrs[step]).epsilon(1e-6));
  }
}

std::size_t count_of(const Golden& g, const char* name) {
  return static_cast<std::size_t>(g.scalar(name));
}

st::OneCycle one_cycle_of(const Golden& g) {
  return {.max_lr = static_cast<float>(g.scalar("max_lr")),
          .total_steps = count_of(g, "total_steps"),
          .pct_start = g.scalar("pct_start"),
          .anneal_strategy =
              g.scalar("linear") != 0 ? st::OneCycle::Anneal::linear : st::OneCycle::Anneal::cos,
          .div_factor = g.scalar("div_factor"),
          .final_div_factor = g.scalar("final_div_factor"),
          .three_phase = g.scalar("three_phase") != 0};
}

}  // namespace

TEST_CASE("StepLR and MultiStepLR follow torch.optim.lr_scheduler's sequences") {
  const Golden step = strata::test::load_golden("step_lr");
  check_schedule(step, st::StepLR{.base_lr = static_cast<float>(step.scalar("lr")),
                                  .step_size = count_of(step, "step_size"),
                                  .gamma = step.scalar("gamma")});
  const Golden multi = strata::test::load_golden("multistep_lr");
  check_schedule(multi, st::MultiStepLR{.base_lr = static_cast<float>(multi.scalar("lr")),
                                        .milestones = {count_of(multi, "milestone0"),
                                                       count_of(multi, "milestone1"),
                                                       count_of(multi, "milestone2")},
                                        .gamma = multi.scalar("gamma")});
}

TEST_CASE("StepLR and MultiStepLR reject invalid arguments, naming them") {
  CHECK_THROWS_WITH_AS((st::StepLR{.step_size = 0})(0), doctest::Contains("StepLR: step_size"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS((st::StepLR{.step_size = 2, .gamma = 0})(0),
                       doctest::Contains("StepLR: gamma"), std::invalid_argument);
  CHECK_THROWS_WITH_AS((st::MultiStepLR{.milestones = {30, 30, 80}})(0),
                       doctest::Contains("MultiStepLR: milestones must be strictly increasing"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS((st::MultiStepLR{.milestones = {60, 30}})(0),
                       doctest::Contains("got 30 after 60"), std::invalid_argument);
  CHECK_THROWS_WITH_AS((st::MultiStepLR{.milestones = {30}, .gamma = -0.1})(0),
                       doctest::Contains("MultiStepLR: gamma"), std::invalid_argument);
  // No milestones: a constant rate.
  CHECK((st::MultiStepLR{.base_lr = 0.5f, .milestones = {}})(1000) == 0.5f);
}

TEST_CASE("OneCycle follows torch.optim.lr_scheduler.OneCycleLR, two and three phases") {
  for (const char* name : {"one_cycle", "one_cycle_linear", "one_cycle_three_phase"}) {
    CAPTURE(name);
    const Golden g = strata::test::load_golden(name);
    REQUIRE(g.tensor("lrs").values.size() == count_of(g, "total_steps") + 1);
    check_schedule(g, one_cycle_of(g));
  }
}

TEST_CASE("OneCycle refuses invalid arguments and a step beyond total_steps, as PyTorch") {
  const st::OneCycle schedule{.max_lr = 0.1f, .total_steps = 20};
  CHECK_NOTHROW(schedule(20));  // the rate after the last scheduler.step()
  CHECK_THROWS_WITH_AS(schedule(21),
                       doctest::Contains("OneCycle: step 21 is beyond total_steps 20"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS((st::OneCycle{.total_steps = 0})(0),
                       doctest::Contains("OneCycle: total_steps"), std::invalid_argument);
  for (const double pct : {0.0, 1.0, -0.2, 1.5}) {
    CAPTURE(pct);
    CHECK_THROWS_WITH_AS((st::OneCycle{.total_steps = 20, .pct_start = pct})(0),
                         doctest::Contains("OneCycle: pct_start"), std::invalid_argument);
  }
  CHECK_THROWS_WITH_AS((st::OneCycle{.total_steps = 20, .div_factor = 0})(0),
                       doctest::Contains("OneCycle: div_factor"), std::invalid_argument);
  CHECK_THROWS_WITH_AS((st::OneCycle{.total_steps = 20, .final_div_factor = -1})(0),
                       doctest::Contains("OneCycle: final_div_factor"), std::invalid_argument);
  // pct_start * total_steps = 1: the warm-up would end where it starts (PyTorch divides by
  // zero); three phases of 10 steps with pct_start 0.55 leave the third none.
  CHECK_THROWS_WITH_AS((st::OneCycle{.total_steps = 10, .pct_start = 0.1})(0),
                       doctest::Contains("leaves a phase no steps"), std::invalid_argument);
  CHECK_THROWS_WITH_AS((st::OneCycle{.total_steps = 10, .pct_start = 0.55, .three_phase = true})(0),
                       doctest::Contains("leaves a phase no steps"), std::invalid_argument);
}

TEST_CASE("ReduceLROnPlateau follows torch.optim.lr_scheduler.ReduceLROnPlateau") {
  for (const char* name : {"plateau_min_rel", "plateau_max_abs"}) {
    CAPTURE(name);
    const Golden g = strata::test::load_golden(name);
    using P = st::ReduceLROnPlateau;
    P plateau{
        g.scalar("lr"),
        {.mode = g.scalar("max") != 0 ? P::Mode::max : P::Mode::min,
         .factor = g.scalar("factor"),
         .patience = count_of(g, "patience"),
         .threshold = g.scalar("threshold"),
         .threshold_mode = g.scalar("abs") != 0 ? P::ThresholdMode::abs : P::ThresholdMode::rel,
         .cooldown = count_of(g, "cooldown"),
         .min_lr = g.scalar("min_lr"),
         .eps = g.scalar("eps")}};
    const std::vector<double>& metrics = g.tensor("metrics").values;
    const std::vector<double>& lrs = g.tensor("lrs").values;
    REQUIRE(metrics.size() == lrs.size());
    for (std::size_t epoch = 0; epoch < metrics.size(); ++epoch) {
      CAPTURE(epoch);
      CHECK(plateau.step(metrics[epoch]) == doctest::Approx(lrs[epoch]).epsilon(1e-6));
      CHECK(plateau.lr() == doctest::Approx(lrs[epoch]).epsilon(1e-6));
    }
  }
}

TEST_CASE("ReduceLROnPlateau: defaults, NaN metrics and invalid arguments") {
  using P = st::ReduceLROnPlateau;
  // PyTorch's defaults: patience 10, so the eleventh epoch without improvement divides by 10.
  P plateau{0.01};
  CHECK(plateau.step(1.0) == doctest::Approx(0.01));
  for (int epoch = 0; epoch < 10; ++epoch) CHECK(plateau.step(1.0) == doctest::Approx(0.01));
  CHECK(plateau.step(1.0) == doctest::Approx(0.001));
  // A NaN is never an improvement: it counts as a bad epoch, as in PyTorch.
  P nan{0.1, {.patience = 0}};
  nan.step(1.0);
  CHECK(nan.step(std::nan("")) == doctest::Approx(0.01));
  CHECK(nan.best() == 1.0);

  CHECK_THROWS_WITH_AS(P(0.1, {.factor = 1.0}), doctest::Contains("ReduceLROnPlateau: factor"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(P(0.1, {.threshold = -1e-4}),
                       doctest::Contains("ReduceLROnPlateau: threshold"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(P(0.1, {.min_lr = -1}), doctest::Contains("ReduceLROnPlateau: min_lr"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(P(0.1, {.eps = -1}), doctest::Contains("ReduceLROnPlateau: eps"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(P(-0.1), doctest::Contains("ReduceLROnPlateau: lr"), std::invalid_argument);
}

namespace {

template <class T>
void check_mse_golden(const char* name, strata::test::Tolerance tol) {
  INFO("golden case " << name << (sizeof(T) == sizeof(float) ? ", float" : ", double"));
  const Golden g = strata::test::load_golden(name);
  const strata::test::GoldenTensor& x = g.tensor("x");
  REQUIRE(x.shape == std::vector<std::size_t>{3, 4});
  std::vector<T> prediction = strata::test::narrow<T>(x.values);
  const std::vector<T> target = strata::test::narrow<T>(g.tensor("target").values);
  std::vector<T> grad(prediction.size(), std::numeric_limits<T>::quiet_NaN());
  const st::Output<st::Shape<4>, T, st::cpu> output{prediction.data(), grad.data(), 3, 0};
  const st::Loss loss =
      st::mse_loss(output, target,
                   {.reduction = g.scalar("mean") != 0 ? st::Reduction::mean : st::Reduction::sum});
  CHECK(loss.gradient == grad.data());
  STRATA_CHECK_CLOSE("loss vs PyTorch", std::vector<double>{loss.value},
                     std::vector<double>{g.scalar("loss")}, tol);
  STRATA_CHECK_CLOSE("dx vs PyTorch", strata::test::widen(grad), g.tensor("dx").values, tol);
}

}  // namespace

TEST_CASE("mse_loss matches F.mse_loss, mean and sum, value and gradient") {
  for (const char* name : {"mse_loss", "mse_loss_sum"}) {
    check_mse_golden<double>(name, {1e-12, 1e-14});
    check_mse_golden<float>(name, {1e-6, 1e-7});
  }
}

TEST_CASE("mse_loss trains a model and refuses targets of another size") {
  using Net = st::Sequential<st::InputFlat<6>, st::Linear<5>, st::ReLU, st::Linear<3>>;
  st::Model<Net> model{st::seed{4}};
  st::SGD sgd{model.parameters(), {.lr = 0.05f}};
  const std::vector<float> x{1, -2, 3, -4, 5, -6, 0.5f, 0.25f, -1, 2, -3, 4};
  const std::vector<float> targets{0.5f, -1, 2, 1, 0, -0.5f};
  const double first = st::mse_loss(model.forward(x), targets).value;
  double last = first;
  for (int k = 0; k < 20; ++k) {
    model.backward(st::mse_loss(model.forward(x), targets));
    sgd.step();
    last = st::mse_loss(model.forward(x), targets).value;
  }
  CHECK(last < first / 2);
  const std::vector<float> too_few(5);
  CHECK_THROWS_WITH_AS(st::mse_loss(model.forward(x), too_few),
                       doctest::Contains("mse_loss: got 5 targets for an output of 6 values"),
                       std::invalid_argument);
}
