// Inception-v3: its blocks against torchvision's own modules at reduced width (golden values in
// training mode), gradient checks of small blocks, and the model's counts, names and shapes
// against torchvision.models.inception_v3 with and without AuxLogits (tests/zoo/).
#include <doctest/doctest.h>

#include <concepts>

#include <strata/blocks/inception_v3.hpp>
#include <strata/models/inception_v3.hpp>
#include <strata/strata.hpp>

#include "block_golden.hpp"
#include "conformance.hpp"
#include "zoo_reference.hpp"

namespace st = strata;
namespace stt = strata::test;
namespace ref = strata::test::ref;
using st::Shape;

// torchvision's figures (tests/zoo/inception_v3*.txt); the MACs are the main path's, measured in
// eval mode where AuxLogits does not run, so they are the same with and without the head.
using V3 = st::models::InceptionV3<>;
using V3Aux = st::models::InceptionV3<1000, st::Input<3, 299, 299>, true>;
static_assert(std::same_as<V3::output_shape, Shape<1000>>);
static_assert(V3::parameter_count == 23'834'568);
static_assert(V3::macs == 5'713'216'096);
static_assert(V3Aux::parameter_count == 27'161'264);
static_assert(V3Aux::macs == 5'713'216'096);
// The head: conv0 768*128 + 2*128, conv1 128*768*25 + 2*768, fc 768*1000 + 1000.
static_assert(V3Aux::parameter_count - V3::parameter_count ==
              (768 * 128 + 2 * 128) + (128 * 768 * 25 + 2 * 768) + (768 * 1000 + 1000));
// Its MACs in training: conv0 128*768*5*5 + conv1 768*128*25 + fc 768*1000.
static_assert(V3Aux::layer<15>::head_macs == 128 * 768 * 25 + 768 * 128 * 25 + 768 * 1000);
static_assert(std::same_as<V3::layer<14>::output_shape, Shape<768, 17, 17>>);  // Mixed_6e
static_assert(std::same_as<V3::layer<15>::output_shape, Shape<1280, 8, 8>>);   // Mixed_7a

TEST_CASE("inception-v3 blocks match torchvision's InceptionA/C/E at reduced width") {
  // make_golden.py divides torchvision's channel counts of 32 or more by 32: 64 -> 2, 48 -> 1,
  // 96 -> 3, 192 -> 6, 320 -> 10, 384 -> 12, 448 -> 14.
  using A = st::InceptionA<2, 1, 2, 2, 3, 4>::bind<Shape<5, 5, 5>>;  // InceptionA(5, 4)
  static_assert(std::same_as<A::output_shape, Shape<2 + 2 + 3 + 4, 5, 5>>);
  stt::check_block_golden<A, double>("inception_v3_a", 1e-9, 1e-11);
  stt::check_block_golden<A, float>("inception_v3_a", 1e-3, 1e-4);

  using C = st::InceptionC<6, 3, 6, 6>::bind<Shape<6, 5, 5>>;  // InceptionC(6, channels_7x7=3)
  static_assert(std::same_as<C::output_shape, Shape<6 * 4, 5, 5>>);
  stt::check_block_golden<C, double>("inception_v3_c", 1e-9, 1e-11);
  stt::check_block_golden<C, float>("inception_v3_c", 1e-3, 1e-4);

  using E = st::InceptionE<10, 12, 14, 6>::bind<Shape<5, 3, 3>>;  // InceptionE(5)
  static_assert(std::same_as<E::output_shape, Shape<10 + 2 * 12 + 2 * 12 + 6, 3, 3>>);
  stt::check_block_golden<E, double>("inception_v3_e", 1e-9, 1e-11);
  stt::check_block_golden<E, float>("inception_v3_e", 1e-3, 1e-4);
}

TEST_CASE("inception-v3 blocks: gradient checks (split-and-concatenate, stride-2 reductions)") {
  // Per BasicConv2d: Out * In * Kh * Kw weights and the BatchNorm's 2 * Out; 9 output pixels.
  using E = st::InceptionE<2, 2, 3, 1>::bind<Shape<3, 3, 3>>;
  constexpr std::size_t e_params = (2 * 3 + 4) + (2 * 3 + 4) + 2 * (2 * 2 * 3 + 4) + (3 * 3 + 6) +
                                   (2 * 3 * 9 + 4) + 2 * (2 * 2 * 3 + 4) + (1 * 3 + 2);
  constexpr std::size_t e_macs =
      (2 * 3 + 2 * 3 + 2 * 2 * 2 * 3 + 3 * 3 + 2 * 3 * 9 + 2 * 2 * 2 * 3 + 1 * 3) * 9;
  stt::check_layer<E>({{2 + 4 + 4 + 1, 3, 3}, e_params, e_macs}, ref::none());

  // 7x7 input: the 1x7/7x1 path keeps 7x7, the stride-2 3x3 convolutions give 3x3.
  using D = st::InceptionD<2, 3, 2>::bind<Shape<3, 7, 7>>;
  constexpr std::size_t d_params =
      (2 * 3 + 4) + (3 * 2 * 9 + 6) + (2 * 3 + 4) + 2 * (2 * 2 * 7 + 4) + (2 * 2 * 9 + 4);
  constexpr std::size_t d_macs = (2 * 3 + 2 * 3 + 2 * 2 * 7 * 2) * 49 + (3 * 2 * 9 + 2 * 2 * 9) * 9;
  stt::check_layer<D>({{3 + 2 + 3, 3, 3}, d_params, d_macs}, ref::none());
}

TEST_CASE("inception-v3: every parameter and buffer named and shaped as torchvision's") {
  stt::check_against_torchvision<V3>("inception_v3");
  stt::check_against_torchvision<V3Aux>("inception_v3_aux");
}

// 75x75 is torchvision's smallest input (Mixed_7c then works on 1x1).
TEST_CASE("inception-v3 on 75x75 images: eval forward is finite") {
  stt::check_eval_forward_is_finite<st::models::InceptionV3<10, st::Input<3, 75, 75>>>();
}
