// MobileNetV2 and V3 (Large, Small) against torchvision: parameter counts and
// multiply-accumulates at compile time, every parameter and buffer name and shape against
// torchvision's state_dict (tests/zoo/mobilenet_v*.txt), and the InvertedResidual blocks against
// torchvision's own in training mode.
#include <doctest/doctest.h>

#include <cmath>
#include <concepts>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include <strata/blocks/mobilenet.hpp>
#include <strata/models/mobilenet_v2.hpp>
#include <strata/models/mobilenet_v3.hpp>
#include <strata/runtime/model.hpp>

#include "block_golden.hpp"
#include "conformance.hpp"
#include "zoo_reference.hpp"

namespace st = strata;
namespace stt = strata::test;
namespace ref = strata::test::ref;
namespace models = strata::models;
using st::Shape;

static_assert(models::MobileNetV2<>::parameter_count == 3'504'872);
static_assert(models::MobileNetV2<>::macs == 300'774'272);
static_assert(std::same_as<models::MobileNetV2<>::output_shape, Shape<1000>>);
static_assert(models::MobileNetV3Large<>::parameter_count == 5'483'032);
static_assert(models::MobileNetV3Large<>::macs == 216'589'760);
static_assert(models::MobileNetV3Small<>::parameter_count == 2'542'856);
static_assert(models::MobileNetV3Small<>::macs == 56'510'400);

namespace {

template <class B>
std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& spec : B::params) out.emplace_back(spec.name.view());
  return out;
}

template <std::size_t Expand, std::size_t In, std::size_t Out, std::size_t Stride>
using body = st::Sequential<
    st::Named<"conv", typename st::detail::inverted_residual_body<Expand, In, Out, Stride>::type>>;

}  // namespace

TEST_CASE("mobilenet_v2: every parameter and buffer named and shaped as torchvision's") {
  stt::check_against_torchvision<models::MobileNetV2<>>("mobilenet_v2");
}

TEST_CASE("inverted residual: skip connection exactly where torchvision's use_res_connect is") {
  using Kept = st::InvertedResidual<6, 8, 1>::bind<Shape<8, 5, 5>>;
  using Strided = st::InvertedResidual<6, 8, 2>::bind<Shape<8, 5, 5>>;
  using Widened = st::InvertedResidual<6, 16, 1>::bind<Shape<8, 5, 5>>;
  static_assert(std::is_same_v<Kept, st::Residual<body<6, 8, 8, 1>>::bind<Shape<8, 5, 5>>>);
  static_assert(std::is_same_v<Strided, body<6, 8, 8, 2>::bind<Shape<8, 5, 5>>>);
  static_assert(std::is_same_v<Widened, body<6, 8, 16, 1>::bind<Shape<8, 5, 5>>>);
  // Expansion 1 has no expansion step: conv.0 is the depthwise convolution.
  using NoExpand = st::InvertedResidual<1, 16, 1>::bind<Shape<32, 4, 4>>;
  CHECK(names<NoExpand>().front() == "conv.0.0.weight");
  static_assert(NoExpand::params[0].dims[0] == 32 && NoExpand::params[0].dims[1] == 1);
  CHECK(names<Kept>().front() == "conv.0.0.weight");
  CHECK(names<Kept>().back() == "conv.3.bias");
}

TEST_CASE("inverted residual matches torchvision's InvertedResidual (training mode)") {
  using B = st::InvertedResidual<6, 8, 1>::bind<Shape<8, 5, 5>>;
  stt::check_block_golden<B, double>("inverted_residual", 1e-9, 1e-11);
  stt::check_block_golden<B, float>("inverted_residual", 1e-3, 1e-4);
}

TEST_CASE("inverted residual: gradient check through depthwise conv, BN, ReLU6 and the skip") {
  // Expansion 2 of 4 channels: hidden width 8; the skip is kept (stride 1, 4 -> 4).
  using B = st::InvertedResidual<2, 4, 1>::bind<Shape<4, 4, 4>>;
  stt::check_layer<B>({{4, 4, 4},
                       (8 * 4 + 2 * 8) + (8 * 9 + 2 * 8) + (4 * 8 + 2 * 4),
                       (8 * 4 + 8 * 9 + 4 * 8) * 16},
                      ref::none());
}

TEST_CASE("mobilenet_v2 on 32x32 images: eval forward is finite") {
  using Net = models::MobileNetV2<10, st::Input<3, 32, 32>>;
  static_assert(std::same_as<Net::output_shape, Shape<10>>);
  stt::check_eval_forward_is_finite<Net>();
}

TEST_CASE("mobilenet_v3: every parameter and buffer named and shaped as torchvision's") {
  stt::check_against_torchvision<models::MobileNetV3Large<>>("mobilenet_v3_large");
  stt::check_against_torchvision<models::MobileNetV3Small<>>("mobilenet_v3_small");
}

TEST_CASE("inverted residual v3 matches torchvision's (expansion, SE, Hardswish, skip)") {
  using B = st::InvertedResidualV3<
      3, 24, 8, true, st::Hardswish, 1,
      st::BatchNorm2d<st::Eps<1, 1000>, st::Momentum<1, 100>>>::bind<Shape<8, 5, 5>>;
  static_assert(B::parameter_count == (24 * 8 + 2 * 24) + (24 * 9 + 2 * 24) + (8 * 24 + 8) +
                                          (24 * 8 + 24) + (8 * 24 + 2 * 8));
  stt::check_block_golden<B, double>("inverted_residual_v3", 1e-9, 1e-11);
  stt::check_block_golden<B, float>("inverted_residual_v3", 1e-3, 1e-4);
}

TEST_CASE("inverted residual v3 without expansion, stride 2, ReLU and SE matches torchvision's") {
  using B = st::InvertedResidualV3<
      3, 16, 16, true, st::ReLU, 2,
      st::BatchNorm2d<st::Eps<1, 1000>, st::Momentum<1, 100>>>::bind<Shape<16, 6, 6>>;
  CHECK(names<B>().front() == "block.0.0.weight");  // the depthwise step comes first
  stt::check_block_golden<B, double>("inverted_residual_v3_unexpanded", 1e-9, 1e-11);
  stt::check_block_golden<B, float>("inverted_residual_v3_unexpanded", 1e-3, 1e-4);
}

TEST_CASE("inverted residual v3: gradient check through SE, Hardsigmoid, Hardswish and the skip") {
  // 4 channels expanded to 8, squeeze make_divisible(8 / 4) = 8.
  using B = st::InvertedResidualV3<3, 8, 4, true, st::Hardswish, 1>::bind<Shape<4, 4, 4>>;
  stt::check_layer<B>({{4, 4, 4},
                       (8 * 4 + 2 * 8) + (8 * 9 + 2 * 8) + (8 * 8 + 8) * 2 + (4 * 8 + 2 * 4),
                       (8 * 4 + 8 * 9 + 4 * 8) * 16 + 8 * 8 * 2},
                      ref::none());
}

TEST_CASE("mobilenet_v3_small on 96x96 images: eval forward is finite") {
  using Net = models::MobileNetV3Small<10, st::Input<3, 96, 96>>;
  static_assert(std::same_as<Net::output_shape, Shape<10>>);
  stt::check_eval_forward_is_finite<Net>();
}
