// AlexNet and VGG against torchvision: parameter counts and multiply-accumulates at compile
// time, and the name and shape of every parameter and buffer against torchvision's state_dict
// (tests/zoo/<model>.txt, written by tests/zoo/make_zoo_reference.py).
#include <doctest/doctest.h>

#include <cmath>
#include <concepts>
#include <cstddef>
#include <random>
#include <vector>

#include <strata/models/alexnet.hpp>
#include <strata/models/lenet.hpp>
#include <strata/models/vgg.hpp>
#include <strata/models/zfnet.hpp>
#include <strata/runtime/model.hpp>

#include "zoo_reference.hpp"

namespace st = strata;
namespace models = strata::models;
using strata::test::check_against_torchvision;

// Models without a torchvision counterpart, counted by hand from their papers.
// LeNet-5: 156 + 2,416 + 48,120 + 10,164 + 850 parameters; MACs 117,600 + 240,000 + 48,000 +
// 10,080 + 840.
static_assert(models::LeNet5<>::parameter_count == 61'706);
static_assert(models::LeNet5<>::macs == 416'520);
static_assert(std::same_as<models::LeNet5<>::output_shape, st::Shape<10>>);
// AlexNet as in the paper: the well-known 60,965,224 (Caffe's bvlc_alexnet has the same layers);
// conv2/4/5 halved by the two-GPU groups.
static_assert(models::AlexNetPaper<>::parameter_count == 60'965'224);
// 96*3*121*55*55 + 256*48*25*27*27 + (384*256 + 384*192 + 256*192)*9*13*13 + 9216*4096 +
// 4096*4096 + 4096*1000.
static_assert(models::AlexNetPaper<>::macs == 724'406'816);
static_assert(
    std::same_as<models::AlexNetPaper<>::layer<0>::layer<3>::output_shape, st::Shape<96, 27, 27>>);
// ZFNet (figure 3 of Zeiler & Fergus): conv1 96*3*7*7 + 96 = 14,208; conv2 256*96*5*5 + 256 =
// 614,656; conv3 384*256*3*3 + 384 = 885,120; conv4 384*384*3*3 + 384 = 1,327,488; conv5
// 256*384*3*3 + 256 = 884,992; fc6 9216*4096 + 4096 = 37,752,832; fc7 4096*4096 + 4096 =
// 16,781,312; fc8 4096*1000 + 1000 = 4,097,000.
static_assert(models::ZFNet<>::parameter_count == 62'357'608);
// 96*147*110*110 + 256*2400*26*26 + (384*2304 + 384*3456 + 256*3456)*13*13 + 9216*4096 +
// 4096*4096 + 4096*1000.
static_assert(models::ZFNet<>::macs == 1'168'032'896);
// The paper's feature-map sizes: 110 after conv1, 55 after pool1, 26 after conv2, 13 after
// pool2, 6 after pool5.
using ZFFeatures = models::ZFNet<>::layer<0>;
static_assert(std::same_as<ZFFeatures::layer<0>::output_shape, st::Shape<96, 110, 110>>);
static_assert(std::same_as<ZFFeatures::layer<2>::output_shape, st::Shape<96, 55, 55>>);
static_assert(std::same_as<ZFFeatures::layer<4>::output_shape, st::Shape<256, 26, 26>>);
static_assert(std::same_as<ZFFeatures::layer<6>::output_shape, st::Shape<256, 13, 13>>);
static_assert(std::same_as<ZFFeatures::output_shape, st::Shape<256, 6, 6>>);

static_assert(models::AlexNet<>::parameter_count == 61'100'840);
static_assert(models::AlexNet<>::macs == 714'188'480);
static_assert(models::VGG11<>::parameter_count == 132'863'336);
static_assert(models::VGG11<>::macs == 7'609'090'048);
static_assert(models::VGG13<>::parameter_count == 133'047'848);
static_assert(models::VGG13<>::macs == 11'308'466'176);
static_assert(models::VGG16<>::parameter_count == 138'357'544);
static_assert(models::VGG16<>::macs == 15'470'264'320);
static_assert(models::VGG19<>::parameter_count == 143'667'240);
static_assert(models::VGG19<>::macs == 19'632'062'464);
static_assert(models::VGG11BN<>::parameter_count == 132'868'840);
static_assert(models::VGG11BN<>::macs == 7'609'090'048);
static_assert(models::VGG13BN<>::parameter_count == 133'053'736);
static_assert(models::VGG13BN<>::macs == 11'308'466'176);
static_assert(models::VGG16BN<>::parameter_count == 138'365'992);
static_assert(models::VGG16BN<>::macs == 15'470'264'320);
static_assert(models::VGG19BN<>::parameter_count == 143'678'248);
static_assert(models::VGG19BN<>::macs == 19'632'062'464);

TEST_CASE("alexnet: every parameter named and shaped as torchvision's") {
  check_against_torchvision<models::AlexNet<>>("alexnet");
}

TEST_CASE("vgg: every parameter and buffer named and shaped as torchvision's") {
  check_against_torchvision<models::VGG11<>>("vgg11");
  check_against_torchvision<models::VGG13<>>("vgg13");
  check_against_torchvision<models::VGG16<>>("vgg16");
  check_against_torchvision<models::VGG19<>>("vgg19");
  check_against_torchvision<models::VGG11BN<>>("vgg11_bn");
  check_against_torchvision<models::VGG13BN<>>("vgg13_bn");
  check_against_torchvision<models::VGG16BN<>>("vgg16_bn");
  check_against_torchvision<models::VGG19BN<>>("vgg19_bn");
}

// A 32x32 input leaves 1x1 features, which the adaptive pooling replicates to 7x7: the same
// classifier (and parameter count) as at 224x224, as in PyTorch.
TEST_CASE("vgg-11 on 32x32 images: eval forward is finite") {
  using Net = models::VGG11<10, st::Input<3, 32, 32>>;
  static_assert(std::same_as<Net::output_shape, st::Shape<10>>);
  static_assert(Net::parameter_count == models::VGG11<10>::parameter_count);
  strata::test::check_eval_forward_is_finite<Net>();
}

TEST_CASE("lenet-5, the paper's alexnet (LRN, grouped convolutions) and zfnet run") {
  strata::test::check_eval_forward_is_finite<models::LeNet5<>>();
  strata::test::check_eval_forward_is_finite<models::AlexNetPaper<10, st::Input<3, 99, 99>>>();
  strata::test::check_eval_forward_is_finite<models::ZFNet<10, st::Input<3, 99, 99>>>();
}
