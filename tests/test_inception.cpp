// GoogLeNet's Inception module against torchvision's (golden values in training mode), a
// gradient check of a small one, and GoogLeNet's counts, names and shapes against
// torchvision.models.googlenet(aux_logits=False) (tests/zoo/googlenet.txt).
#include <doctest/doctest.h>

#include <strata/inception.hpp>
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
}
