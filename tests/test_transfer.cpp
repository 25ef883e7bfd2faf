// Transfer learning (strata/train/transfer.hpp, param_groups.hpp, data/subset.hpp): freezing by
// name prefix and by layer range, parameter groups and unfreezing against torch.optim, new heads at
// the type level, copying a backbone by name, and the data-set subsets the example uses.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "golden.hpp"
#include "optim_golden.hpp"
#include "strata/data/subset.hpp"
#include "strata/models/resnet.hpp"
#include "strata/strata.hpp"
#include "strata/train/transfer.hpp"

namespace st = strata;
using strata::test::Golden;
using strata::test::TwoTensors;

namespace {

// Layer 0 "features" (conv, ReLU, BN; the ReLU keeps the conv bias's gradient non-zero), then
// ReLU, pooling and Flatten (no parameters), and layer 4 "fc".
using Features = st::Sequential<st::Conv2d<4, 3, st::Pad<1>>, st::ReLU, st::BatchNorm2d<>>;
using Small = st::Sequential<st::Input<2, 6, 6>, st::Named<"features", Features>, st::ReLU,
                             st::MaxPool2d<2>, st::Flatten, st::Named<"fc", st::Linear<5>>>;

std::vector<float> values_of(const st::Parameter& p) {
  return {p.value, p.value + p.size};
}

// A batch of 4 samples (labels below 3, the smallest head here), and one step's gradients.
template <class Net>
void compute_gradients(st::Model<Net>& model) {
  std::vector<float> x(4 * Net::input_shape::size);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7919) % 23) / 11.f - 1.f;
  const std::vector<std::int32_t> labels{0, 1, 2, 1};
  model.backward(st::cross_entropy(model.forward(x), labels));  // [4, classes]
}

bool any_nonzero(std::span<const float> values) {
  return std::any_of(values.begin(), values.end(), [](float v) { return v != 0.f; });
}

// Steps `optimizer` three times and checks that exactly the parameters with trainable == false
// kept their values, although every one of them had a non-zero gradient.
template <class Net, class Optimizer>
void check_only_trainable_move(st::Model<Net>& model, Optimizer& optimizer) {
  std::vector<std::vector<float>> before;
  for (const st::Parameter& p : model.parameters()) before.push_back(values_of(p));
  for (int k = 0; k < 3; ++k) {
    compute_gradients(model);
    optimizer.step();
  }
  for (std::size_t i = 0; i < before.size(); ++i) {
    const st::Parameter& p = model.parameters()[i];
    CAPTURE(p.name);
    CHECK(any_nonzero(p.grads()));
    CHECK((values_of(p) == before[i]) == !p.trainable);
  }
}

std::vector<std::string> trainable_names(st::Model<Small>& model) {
  std::vector<std::string> names;
  for (const st::Parameter& p : model.parameters())
    if (p.trainable) names.emplace_back(p.name);
  return names;
}

}  // namespace

TEST_CASE("freeze and unfreeze by name prefix") {
  st::Model<Small> model{st::seed{3}};
  CHECK(st::freeze(model, "features.") == 4);
  CHECK(trainable_names(model) == std::vector<std::string>{"fc.weight", "fc.bias"});
  CHECK(st::unfreeze(model, "features.2.") == 2);
  CHECK(trainable_names(model) ==
        std::vector<std::string>{"features.2.weight", "features.2.bias", "fc.weight", "fc.bias"});
  CHECK(st::freeze(model, "") == 6);
  CHECK(trainable_names(model).empty());
  // A misspelt prefix would otherwise leave the model training as before.
  CHECK_THROWS_WITH_AS(st::freeze(model, "feature."),
                       "freeze: no parameter name starts with 'feature.'", std::invalid_argument);
  CHECK_THROWS_AS(st::unfreeze(model, "head."), std::invalid_argument);
}

TEST_CASE("freeze by layer range: the parameters of top-level layers [First, Last)") {
  st::Model<Small> model{st::seed{3}};
  CHECK(st::freeze_layers<0, 3>(model) == 4);  // features; ReLU and pooling have none
  CHECK(trainable_names(model) == std::vector<std::string>{"fc.weight", "fc.bias"});
  CHECK(st::unfreeze_layers<0, 1>(model) == 4);
  CHECK(st::freeze_layers<4, 5>(model) == 2);
  CHECK(trainable_names(model) == std::vector<std::string>{"features.0.weight", "features.0.bias",
                                                           "features.2.weight", "features.2.bias"});
  // ResNet-50's layers 0-7 are the stem and the four stages: everything but fc.weight, fc.bias.
  using R50 = st::models::ResNet50<>;
  static_assert(st::detail::layer_param_offsets<R50>()[8] == R50::params.size() - 2);
  static_assert(R50::params[R50::params.size() - 2].name.view() == "fc.weight");
}

TEST_CASE("frozen parameters get gradients but no update, also with momentum and weight decay") {
  st::Model<Small> model{st::seed{5}};
  SUBCASE("SGD, by prefix") {
    st::freeze(model, "features.0.");
    st::SGD sgd{model.parameters(), {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.1f}};
    check_only_trainable_move(model, sgd);
  }
  SUBCASE("Adam, by layer range") {
    st::freeze_layers<4, 5>(model);
    st::Adam adam{model.parameters(), {.weight_decay = 0.1f}};
    check_only_trainable_move(model, adam);
  }
  SUBCASE("AdamW with groups, frozen after the optimizer was built") {
    st::AdamW adamw{st::groups(model, {{.prefix = "fc.", .lr = 1e-2f}, {.prefix = ""}}),
                    {.lr = 1e-3f, .weight_decay = 0.1f}};
    st::freeze(model, "features.");
    check_only_trainable_move(model, adamw);
  }
}

TEST_CASE("a parameter unfrozen later counts its own steps, as in torch.optim") {
  SUBCASE("SGD with dampening: the momentum buffer starts at its first gradient") {
    const Golden g = strata::test::load_golden("sgd_unfreeze");
    TwoTensors t(g);
    st::SGD sgd{t.params, strata::test::sgd_options(g)};
    strata::test::run_golden(g, t, sgd);
  }
  SUBCASE("Adam: bias correction from its first step") {
    const Golden g = strata::test::load_golden("adam_unfreeze");
    TwoTensors t(g);
    st::Adam adam{t.params, strata::test::adam_options(g)};
    strata::test::run_golden(g, t, adam);
  }
}

TEST_CASE("parameter groups match torch.optim param_groups") {
  auto group_specs = [](const Golden& g) {
    return std::vector<st::GroupSpec>{{.prefix = "p0",
                                       .lr = float(g.scalar("group0_lr")),
                                       .weight_decay = float(g.scalar("group0_weight_decay"))},
                                      {.prefix = ""}};
  };
  SUBCASE("SGD with momentum and weight decay") {
    const Golden g = strata::test::load_golden("groups_sgd_momentum");
    TwoTensors t(g);
    st::SGD sgd{st::groups(t.params, group_specs(g)), strata::test::sgd_options(g)};
    CHECK(sgd.group_count() == 2);
    strata::test::run_golden(g, t, sgd);
  }
  SUBCASE("AdamW") {
    const Golden g = strata::test::load_golden("groups_adamw");
    TwoTensors t(g);
    st::AdamW adamw{st::groups(t.params, group_specs(g)), strata::test::adam_options(g)};
    strata::test::run_golden(g, t, adamw);
  }
}

TEST_CASE("parameter groups: first matching prefix wins, and every mistake is refused") {
  st::Model<Small> model;
  const st::ParamGroups gs =
      st::groups(model, {{.prefix = "fc.", .lr = 0.5f}, {.prefix = "features.2."}, {.prefix = ""}});
  CHECK(gs.group_of == std::vector<std::size_t>{2, 2, 1, 1, 0, 0});
  st::SGD sgd{gs, {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-3f}};
  CHECK(sgd.group(0).lr == 0.5f);
  CHECK(sgd.group(0).weight_decay == 1e-3f);
  CHECK(sgd.group(2).lr == 0.1f);
  CHECK(sgd.group(0).momentum == 0.9f);
  // With several groups there is no single lr to set: a schedule sets each group's.
  CHECK_THROWS_AS(sgd.options(), std::logic_error);

  CHECK_THROWS_WITH_AS(st::groups(model, {{.prefix = "fc."}}),
                       doctest::Contains("parameter 'features.0.weight' matches no group"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(st::groups(model, {{.prefix = ""}, {.prefix = "fc."}}),
                       doctest::Contains("group 1 (prefix 'fc.') has no parameter"),
                       std::invalid_argument);
  CHECK_THROWS_AS(st::groups(model, {{.prefix = "fc"}, {.prefix = "fcx"}, {.prefix = ""}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(st::SGD(st::groups(model, {{.prefix = "fc."}, {.prefix = ""}}),
                          {.lr = 0.1f, .nesterov = true}),
                  std::invalid_argument);
}

// ResNet-50 with a 3-class head: the backbone is the same type-level list of layers.
using R50 = st::models::ResNet50<>;
using R50Three = st::replace_head<R50, st::Named<"fc", st::Linear<3>>>;
static_assert(std::same_as<R50Three, st::models::ResNet50<3>>);
static_assert(R50::parameter_count == 25'557'032);
static_assert(R50Three::parameter_count == 25'557'032 - (2048 * 1000 + 1000) + (2048 * 3 + 3));
static_assert(R50Three::params.size() == R50::params.size());
static_assert(std::same_as<R50Three::output_shape, st::Shape<3>>);

TEST_CASE("replace_head and replace_last build the new network type") {
  using Head = st::Sequential<st::Dropout<20>, st::Linear<7>>;
  using Two = st::replace_head<Small, st::Named<"head", Head>>;
  static_assert(
      std::same_as<Two,
                   st::Sequential<st::Input<2, 6, 6>, st::Named<"features", Features>, st::ReLU,
                                  st::MaxPool2d<2>, st::Flatten, st::Named<"head", Head>>>);
  // The last three layers (pooling, Flatten, fc) become global pooling and a 2-way classifier.
  using Pooled =
      st::replace_last<Small, 3, st::GlobalAvgPool, st::Flatten, st::Named<"fc", st::Linear<2>>>;
  static_assert(Pooled::layer_count == 5);
  static_assert(Pooled::parameter_count ==
                Small::parameter_count - (5 * 4 * 3 * 3 + 5) + 4 * 2 + 2);
  static_assert(std::same_as<Pooled::layer<2>::output_shape, st::Shape<4, 1, 1>>);
  CHECK(std::string(Two::params.back().name.view()) == "head.1.bias");
}

TEST_CASE("copy_matching copies every backbone parameter and buffer and leaves the new head") {
  using Target = st::replace_head<Small, st::Named<"fc", st::Linear<3>>>;
  st::Model<Small> source{st::seed{1}};
  compute_gradients(source);  // moves BatchNorm's running statistics away from their init
  st::Model<Target> target{st::seed{2}};
  const std::vector<float> head_before = values_of(target.parameters()[4]);

  const st::CopyReport report = st::copy_matching(source, target);
  CHECK(report.copied == std::vector<std::string>{"features.0.weight", "features.0.bias",
                                                  "features.2.weight", "features.2.bias",
                                                  "features.2.running_mean",
                                                  "features.2.running_var"});
  CHECK(report.shape_differs == std::vector<std::string>{"fc.weight", "fc.bias"});
  CHECK(report.kept.empty());
  CHECK(report.unused.empty());
  CHECK(values_of(target.parameters()[4]) == head_before);
  for (std::size_t i = 0; i < 4; ++i)
    CHECK(values_of(target.parameters()[i]) == values_of(source.parameters()[i]));
  for (std::size_t i = 0; i < 2; ++i) {
    const st::Buffer &s = source.buffers()[i], &t = target.buffers()[i];
    CHECK(std::equal(s.value, s.value + s.size, t.value, t.value + t.size));
  }
  CHECK(any_nonzero({source.buffers()[0].value, source.buffers()[0].size}));

  // Same backbone, same features: the activations before the heads agree in eval mode.
  source.eval();
  target.eval();
  compute_gradients(source);
  compute_gradients(target);
  const auto a = source.activation<3>(), b = target.activation<3>();  // [4, 36]
  CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
}

TEST_CASE("copy_matching reports tensors that are not in the other network") {
  using Other = st::replace_last<Small, 1, st::Named<"classifier", st::Linear<5>>>;
  st::Model<Small> source;
  st::Model<Other> target;
  const st::CopyReport report = st::copy_matching(source, target);
  CHECK(report.copied.size() == 6);
  CHECK(report.kept == std::vector<std::string>{"classifier.weight", "classifier.bias"});
  CHECK(report.unused == std::vector<std::string>{"fc.weight", "fc.bias"});
  CHECK(report.str() ==
        "copied 6 tensors; kept, not in the source (2): classifier.weight classifier.bias; unused "
        "from the source (2): fc.weight fc.bias");

  using Unrelated = st::Sequential<st::InputFlat<3>, st::Linear<2>>;
  st::Model<Unrelated> unrelated;
  CHECK_THROWS_AS(st::copy_matching(source, unrelated), std::invalid_argument);
}

TEST_CASE("data subsets: chosen samples, chosen classes relabelled, a seeded draw per class") {
  st::data::Dataset d;
  d.count = 12;
  d.rows = 1;
  d.cols = 2;
  d.black = -0.5f;
  for (std::size_t i = 0; i < d.count; ++i) {
    d.images.insert(d.images.end(), {float(i), -float(i)});
    d.labels.push_back(std::int32_t(i % 4));  // 0 1 2 3 0 1 2 3 0 1 2 3
  }

  const std::vector<std::size_t> picks{5, 0, 5};
  const st::data::Dataset s = st::data::subset(d, picks);
  CHECK(s.count == 3);
  CHECK(s.images == std::vector<float>{5, -5, 0, -0, 5, -5});
  CHECK(s.labels == std::vector<std::int32_t>{1, 0, 1});
  CHECK(s.black == -0.5f);
  const std::vector<std::size_t> past{12};
  CHECK_THROWS_AS(st::data::subset(d, past), std::out_of_range);

  const st::data::Dataset c = st::data::select_classes(d, {3, 1});
  CHECK(c.count == 6);
  CHECK(c.labels == std::vector<std::int32_t>{1, 0, 1, 0, 1, 0});  // 1 -> 1, 3 -> 0
  CHECK(c.images[0] == 1.f);
  CHECK(c.images[2] == 3.f);

  const std::vector<std::size_t> draw = st::data::sample_per_class(d, 2, 7);
  CHECK(draw.size() == 8);
  CHECK(std::is_sorted(draw.begin(), draw.end()));
  CHECK(std::adjacent_find(draw.begin(), draw.end()) == draw.end());
  for (std::int32_t label = 0; label < 4; ++label)
    CHECK(std::count_if(draw.begin(), draw.end(),
                        [&](std::size_t i) { return d.labels[i] == label; }) == 2);
  CHECK(st::data::sample_per_class(d, 2, 7) == draw);
  // Another seed, another draw.
  CHECK(st::data::sample_per_class(d, 1, 1) != st::data::sample_per_class(d, 1, 2));
  CHECK_THROWS_AS(st::data::sample_per_class(d, 4, 7), std::invalid_argument);
}
