// GoogLeNet's Inception module against torchvision's (golden values in training mode), a
// gradient check of a small one, GoogLeNet's counts, names and shapes against
// torchvision.models.googlenet(aux_logits=False/True) (tests/zoo/googlenet*.txt), and
// AuxiliaryHead: a small network against PyTorch with loss = main + 0.3 * aux, and finite
// differences through heads at two depths.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <strata/blocks/inception.hpp>
#include <strata/containers/auxiliary.hpp>
#include <strata/models/googlenet.hpp>
#include <strata/strata.hpp>

#include "block_golden.hpp"
#include "conformance.hpp"
#include "golden.hpp"
#include "zoo_reference.hpp"

namespace st = strata;
namespace stt = strata::test;
namespace ref = strata::test::ref;
using st::Shape;

static_assert(std::same_as<st::models::GoogLeNet<>::output_shape, Shape<1000>>);
static_assert(st::models::GoogLeNet<>::parameter_count == 6'624'904);
static_assert(st::models::GoogLeNet<>::macs == 1'498'376'192);
// With aux1 and aux2: each head has conv 128*C + 2*128 (C = 512, then 528), fc1 2048*1024 + 1024
// and fc2 1024*1000 + 1000 parameters; `macs` stays the main path's (torchvision's, in eval).
using GoogLeNetAux = st::models::GoogLeNet<1000, st::Input<3, 224, 224>, true>;
static_assert(GoogLeNetAux::parameter_count == 13'004'888);
static_assert(GoogLeNetAux::parameter_count - st::models::GoogLeNet<>::parameter_count ==
              (128 * 512 + 256) + (128 * 528 + 256) +
                  2 * (2048 * 1024 + 1024 + 1024 * 1000 + 1000));
static_assert(GoogLeNetAux::macs == 1'498'376'192);
// aux1's MACs in training: conv 128*512*4*4, fc1 2048*1024, fc2 1024*1000.
static_assert(GoogLeNetAux::layer<9>::head_macs == 128 * 512 * 16 + 2048 * 1024 + 1024 * 1000);

TEST_CASE("inception v1 matches torchvision's googlenet Inception (training mode)") {
  // Inception(8, 4, 3, 6, 2, 5, 3) in tests/golden/make_golden.py.
  using B = st::InceptionV1<4, 3, 6, 2, 5, 3>::bind<Shape<8, 6, 6>>;
  static_assert(std::same_as<B::output_shape, Shape<4 + 6 + 5 + 3, 6, 6>>);
  stt::check_block_golden<B, double>("inception_v1", 1e-9, 1e-11);
  stt::check_block_golden<B, float>("inception_v1", 1e-3, 1e-4);
}

TEST_CASE("inception v1: gradient check through the four branches") {
  using B = st::InceptionV1<2, 2, 3, 1, 2, 2>::bind<Shape<3, 4, 4>>;
  // Per BasicConv2d: Out * In * K * K weights, and the BatchNorm's 2 * Out.
  constexpr std::size_t params =
      (2 * 3 + 4) + (2 * 3 + 4) + (3 * 2 * 9 + 6) + (1 * 3 + 2) + (2 * 1 * 9 + 4) + (2 * 3 + 4);
  constexpr std::size_t macs =
      (2 * 3 + 2 * 3 + 3 * 2 * 9 + 1 * 3 + 2 * 1 * 9 + 2 * 3) * 16;  // 16 output pixels
  stt::check_layer<B>({{2 + 3 + 2 + 2, 4, 4}, params, macs}, ref::none());
}

TEST_CASE("googlenet: every parameter and buffer named and shaped as torchvision's") {
  stt::check_against_torchvision<st::models::GoogLeNet<>>("googlenet");
  stt::check_against_torchvision<GoogLeNetAux>("googlenet_aux", /*in_order=*/false);
}

namespace {

// tests/golden/auxiliary_head.txt was made by this network in PyTorch (make_golden.py).
using TinyAux = st::Sequential<st::AdaptiveAvgPool2d<2>,                   // 4x2x2
                               st::Named<"conv", st::BasicConv2d<3, 1>>,   // 3x2x2
                               st::Flatten,                                // 12
                               st::Named<"fc1", st::Linear<6>>, st::ReLU,  // 6
                               st::Named<"fc2", st::Linear<5>>>;           // 5
using TinyAuxNet =
    st::Sequential<st::Input<2, 5, 5>,                                               //
                   st::Named<"conv1", st::BasicConv2d<4, 3, st::Pad<1>>>,            // 4x5x5
                   st::Named<"aux1", st::AuxiliaryHead<TinyAux>>,                    // 4x5x5
                   st::Named<"conv2", st::BasicConv2d<6, 3, st::Stride<2>>>,         // 6x2x2
                   st::GlobalAvgPool, st::Flatten, st::Named<"fc", st::Linear<5>>>;  // 5

std::vector<float> floats(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

TEST_CASE("auxiliary head matches PyTorch: logits, main + 0.3 * aux loss, every gradient") {
  const stt::Golden g = stt::load_golden("auxiliary_head");
  st::Model<TinyAuxNet> model{st::seed{1}};
  for (const st::Parameter& p : model.parameters()) {
    CAPTURE(p.name);
    REQUIRE(g.tensor(p.name).size() == p.size);
    std::copy(g.tensor(p.name).values.begin(), g.tensor(p.name).values.end(), p.value);
  }
  for (const st::Buffer& b : model.buffers()) {
    CAPTURE(b.name);
    REQUIRE(g.tensor(b.name).size() == b.size);
    std::copy(g.tensor(b.name).values.begin(), g.tensor(b.name).values.end(), b.value);
  }
  std::vector<std::int32_t> labels;
  for (double l : g.tensor("labels").values) labels.push_back(static_cast<std::int32_t>(l));

  const stt::Tolerance tol{1e-4, 1e-5};
  const auto logits = model.forward(floats(g.tensor("x").values));
  const auto [aux] = model.auxiliary_outputs();
  STRATA_CHECK_CLOSE("logits",
                     stt::widen(std::vector<float>(logits.values().begin(), logits.values().end())),
                     g.tensor("logits").values, tol);
  STRATA_CHECK_CLOSE("aux logits",
                     stt::widen(std::vector<float>(aux.values().begin(), aux.values().end())),
                     g.tensor("aux_logits").values, tol);

  const st::Loss main = st::cross_entropy(logits, labels);
  const st::Loss aux_loss = st::cross_entropy(aux, labels, {.weight = 0.3});
  CHECK(main.value == doctest::Approx(g.scalar("main_loss")).epsilon(1e-5));
  CHECK(aux_loss.value == doctest::Approx(0.3 * g.scalar("aux_loss")).epsilon(1e-5));
  CHECK(main.value + aux_loss.value == doctest::Approx(g.scalar("loss")).epsilon(1e-5));

  // Poisoned: backward must overwrite every gradient, the head's included.
  std::fill(model.gradient_data().begin(), model.gradient_data().end(), 123.f);
  model.backward(main);
  for (const st::Parameter& p : model.parameters()) {
    const std::string key = "grad." + std::string(p.name);
    STRATA_CHECK_CLOSE(key, stt::widen(std::vector<float>(p.grads().begin(), p.grads().end())),
                       g.tensor(key).values, tol);
  }
  for (const st::Buffer& b : model.buffers()) {
    const std::string key = std::string(b.name) + "_after";
    STRATA_CHECK_CLOSE(key, stt::widen(std::vector<float>(b.value, b.value + b.size)),
                       g.tensor(key).values, tol);
  }
}

TEST_CASE("auxiliary head: no loss, no gradient; eval skips it") {
  st::Model<TinyAuxNet> model{st::seed{2}};
  const std::vector<float> x(2 * TinyAuxNet::input_shape::size, 0.25f);
  const std::vector<std::int32_t> labels{1, 3};
  const auto is_head = [](const st::Parameter& p) { return p.name.starts_with("aux1."); };

  // Only the main loss: the head's parameters get zero gradients, the main path's do not.
  model.backward(st::cross_entropy(model.forward(x), labels));
  for (const st::Parameter& p : model.parameters()) {
    CAPTURE(p.name);
    const bool all_zero =
        std::all_of(p.grads().begin(), p.grads().end(), [](float v) { return v == 0.f; });
    CHECK(all_zero == is_head(p));
  }

  // The head's gradient reaches conv1 through the main path: with it, conv1's gradient changes.
  const st::Parameter& conv1 = model.parameters()[0];
  REQUIRE(conv1.name == "conv1.conv.weight");
  const std::vector<float> main_only(conv1.grads().begin(), conv1.grads().end());
  const auto logits = model.forward(x);
  const auto [aux] = model.auxiliary_outputs();
  st::cross_entropy(aux, labels, {.weight = 0.3});
  model.backward(st::cross_entropy(logits, labels));
  CHECK(!std::equal(main_only.begin(), main_only.end(), conv1.grads().begin()));

  model.eval();
  model.forward(x);
  CHECK_THROWS_AS(model.auxiliary_outputs(), std::logic_error);
}

namespace {

// Heads at two depths: one inside a nested block, one on the top chain.
using TwoHeads = st::Sequential<
    st::Input<2, 4, 4>,                                                              //
    st::Named<"block", st::Sequential<st::Conv2d<3, 3, st::Pad<1>>, st::ReLU,        // 3x4x4
                                      st::AuxiliaryHead<st::Sequential<st::Flatten,  // 3x4x4
                                                                       st::Linear<4>>>>>,
    st::Conv2d<3, 3>, st::Tanh,                                       // 3x2x2
    st::AuxiliaryHead<st::Sequential<st::GlobalAvgPool, st::Flatten,  // 3x2x2
                                     st::Linear<2>>>,                 //
    st::Flatten, st::Linear<3>>;                                      // 3

template <class Net, class... Sites>
std::vector<double> with_aux_logits(std::vector<double> y, double* saved, std::size_t batch,
                                    st::site_list<Sites...>) {
  (
      [&] {
        const double* logits = Sites::head::logits(saved + Sites::offset * batch, batch);
        y.insert(y.end(), logits, logits + Sites::head::classes * batch);
      }(),
      ...);
  return y;
}

template <class... Sites>
void fill_logit_grads(const std::vector<double>& daux, double* saved, std::size_t batch,
                      st::site_list<Sites...>) {
  std::size_t next = 0;
  (
      [&] {
        double* slot = Sites::head::logit_grads(saved + Sites::offset * batch, batch);
        std::copy_n(daux.begin() + std::ptrdiff_t(next), Sites::head::classes * batch, slot);
        next += Sites::head::classes * batch;
      }(),
      ...);
}

}  // namespace

TEST_CASE("auxiliary heads: finite differences of sum(y * dy) + sum over heads of sum(aux * da)") {
  using Net = TwoHeads;
  using Sites = st::auxiliary_sites_t<Net>;
  static_assert(Sites::size == 2);
  constexpr std::size_t batch = 3, aux_count = batch * (4 + 2);
  st::Rng rng(5);
  std::vector<double> x = stt::distinct_values(batch * Net::input_shape::size, rng);
  std::vector<double> params = stt::uniform_values(Net::parameter_count, rng);
  const std::vector<double> dy = stt::uniform_values(batch * Net::output_shape::size, rng);
  const std::vector<double> daux = stt::uniform_values(aux_count, rng);
  std::vector<double> grads(Net::parameter_count), saved(batch * Net::saved_per_sample),
      scratch(Net::template scratch_size<st::cpu>(batch, 1)), y(batch * Net::output_shape::size),
      dx(x.size());
  const auto ctx = st::make_context<st::cpu>(st::LayerMemory<double>{.params = params.data(),
                                                                     .grads = grads.data(),
                                                                     .saved = saved.data(),
                                                                     .scratch = scratch.data()},
                                             batch, {.threads = 1}, true, &rng);
  const auto forward = [&] {
    Net::forward(ctx, x.data(), y.data());
    return with_aux_logits<Net>(y, saved.data(), batch, Sites{});
  };
  forward();
  fill_logit_grads(daux, saved.data(), batch, Sites{});
  Net::backward(ctx, x.data(), y.data(), dy.data(), dx.data());

  std::vector<double> weights = dy;
  weights.insert(weights.end(), daux.begin(), daux.end());
  const stt::CheckOptions options;
  auto [dx_picked, dx_numeric] = stt::detail::central_differences(x, dx, weights, options, forward);
  STRATA_CHECK_CLOSE("dx vs finite differences", dx_picked, dx_numeric, options.gradient);
  auto [dp_picked, dp_numeric] =
      stt::detail::central_differences(params, grads, weights, options, forward);
  STRATA_CHECK_CLOSE("dparams vs finite differences", dp_picked, dp_numeric, options.gradient);
}
