// The model zoo against torchvision: parameter counts and multiply-accumulates at compile time,
// and the name and shape of every parameter and buffer against torchvision's state_dict
// (tests/zoo/<model>.txt, written by tests/zoo/make_zoo_reference.py; read by
// tests/support/zoo_reference.hpp).
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include <strata/models/densenet.hpp>
#include <strata/models/resnet.hpp>
#include <strata/strata.hpp>

#include "zoo_reference.hpp"

namespace st = strata;
namespace models = strata::models;

static_assert(models::ResNet18<>::parameter_count == 11'689'512);
static_assert(models::ResNet18<>::macs == 1'814'073'344);
static_assert(models::ResNet34<>::parameter_count == 21'797'672);
static_assert(models::ResNet34<>::macs == 3'663'761'408);
static_assert(models::ResNet50<>::parameter_count == 25'557'032);
static_assert(models::ResNet50<>::macs == 4'089'184'256);
static_assert(models::ResNet101<>::parameter_count == 44'549'160);
static_assert(models::ResNet101<>::macs == 7'801'405'440);
static_assert(models::ResNet152<>::parameter_count == 60'192'808);
static_assert(models::ResNet152<>::macs == 11'513'626'624);
static_assert(models::ResNeXt50_32x4d<>::parameter_count == 25'028'904);
static_assert(models::ResNeXt50_32x4d<>::macs == 4'230'479'872);
static_assert(models::WideResNet50_2<>::parameter_count == 68'883'240);
static_assert(models::WideResNet50_2<>::macs == 11'398'021'120);
// The grouped bottleneck with ResNet's groups and width is ResNet's Bottleneck, type for type.
static_assert(std::same_as<st::GroupedBottleneck<1, 64>::block<128, 2>, st::Bottleneck<128, 2>>);
// SE-ResNet-50 has no torchvision model: the figure is the one the model-zoo issue states
// (reduction 16, SE after the last BN of each bottleneck, before the addition).
static_assert(models::SEResNet50<>::parameter_count == 28'088'024);
// ResNet-50's MACs plus the SE modules' two 1x1 convolutions on 1x1 maps, 2 * C * C / 16 per
// bottleneck of C output channels: 3 * 8192 + 4 * 32768 + 6 * 131072 + 3 * 524288 = 2,514,944.
static_assert(models::SEResNet50<>::macs == 4'089'184'256 + 2'514'944);

static_assert(models::DenseNet121<>::parameter_count == 7'978'856);
static_assert(models::DenseNet121<>::macs == 2'834'161'664);
static_assert(models::DenseNet169<>::parameter_count == 14'149'480);
static_assert(models::DenseNet169<>::macs == 3'359'843'328);
static_assert(std::same_as<models::DenseNet121<>::output_shape, st::Shape<1000>>);

using strata::test::check_against_torchvision;

TEST_CASE("densenets: every parameter and buffer named and shaped as torchvision's") {
  check_against_torchvision<models::DenseNet121<>>("densenet121");
  check_against_torchvision<models::DenseNet169<>>("densenet169");
}

TEST_CASE("resnets: every parameter and buffer named and shaped as torchvision's") {
  check_against_torchvision<models::ResNet18<>>("resnet18");
  check_against_torchvision<models::ResNet34<>>("resnet34");
  check_against_torchvision<models::ResNet50<>>("resnet50");
  check_against_torchvision<models::ResNet101<>>("resnet101");
  check_against_torchvision<models::ResNet152<>>("resnet152");
  check_against_torchvision<models::ResNeXt50_32x4d<>>("resnext50_32x4d");
  check_against_torchvision<models::WideResNet50_2<>>("wide_resnet50_2");
}

TEST_CASE("resnet-18 on small images trains") {
  using Net = models::ResNet18<4, st::Input<3, 32, 32>>;
  static_assert(std::same_as<Net::output_shape, st::Shape<4>>);
  st::Model<Net> model{st::seed{5}};
  st::SGD sgd{model.parameters(), {.lr = 0.05f, .momentum = 0.9f}};
  std::vector<float> x(4 * 3 * 32 * 32);
  st::Rng rng(9);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  const std::vector<std::int32_t> labels{0, 1, 2, 3};
  double first = 0, last = 0;
  for (int step = 0; step < 12; ++step) {
    const st::Loss loss = st::cross_entropy(model.forward(x), labels);
    if (step == 0) first = loss.value;
    last = loss.value;
    model.backward(loss);
    sgd.step();
  }
  CHECK(last < 0.5 * first);
}
