// Containers through the conformance harness: Residual (identity and projection shortcuts),
// Concat (Inception-style branches), Repeat; their parameter names and counts.
#include <doctest/doctest.h>

#include <strata/blocks/resnet.hpp>
#include <strata/strata.hpp>

#include "block_golden.hpp"
#include "conformance.hpp"
#include "golden.hpp"

namespace st = strata;
namespace stt = strata::test;
namespace ref = strata::test::ref;
using st::Shape;

namespace {

// y = body(x) + shortcut(x); parameters: the body's, then the shortcut's.
ref::Reference residual(ref::Reference body, ref::Reference shortcut) {
  auto forward = [body, shortcut](const stt::Dims& in, std::size_t batch, const double* x,
                                  const double* p) {
    std::vector<double> y = body.forward(in, batch, x, p);
    const std::vector<double> skip = shortcut.forward(in, batch, x, p + body.parameter_count(in));
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += skip[i];
    return y;
  };
  auto count = [body, shortcut](const stt::Dims& in) {
    return body.parameter_count(in) + shortcut.parameter_count(in);
  };
  return {"residual", body.output_dims, count, forward};
}

// Branch outputs [N, C_i, H, W] concatenated along channels.
ref::Reference concat(std::vector<ref::Reference> branches) {
  auto out_dims = [branches](const stt::Dims& in) {
    stt::Dims dims = branches[0].output_dims(in);
    dims[0] = 0;
    for (const auto& b : branches) dims[0] += b.output_dims(in)[0];
    return dims;
  };
  auto count = [branches](const stt::Dims& in) {
    std::size_t total = 0;
    for (const auto& b : branches) total += b.parameter_count(in);
    return total;
  };
  auto forward = [branches, out_dims](const stt::Dims& in, std::size_t batch, const double* x,
                                      const double* p) {
    const std::size_t out_size = stt::product(out_dims(in));
    std::vector<double> y(batch * out_size);
    std::size_t channel_offset = 0;
    for (const auto& b : branches) {
      const std::vector<double> part = b.forward(in, batch, x, p);
      const std::size_t part_size = stt::product(b.output_dims(in));
      for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < part_size; ++i)
          y[n * out_size + channel_offset + i] = part[n * part_size + i];
      channel_offset += part_size;
      p += b.parameter_count(in);
    }
    return y;
  };
  return {"concat", out_dims, count, forward};
}

template <class B>
std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& spec : B::params) out.emplace_back(spec.name.view());
  return out;
}

}  // namespace

TEST_CASE("resnet blocks match torchvision's BasicBlock and Bottleneck (training mode)") {
  using Basic = st::BasicBlock<8, 2>::bind<Shape<4, 8, 8>>;
  using Bottle = st::Bottleneck<4, 1>::bind<Shape<8, 5, 5>>;
  stt::check_block_golden<Basic, double>("basic_block_stride2", 1e-9, 1e-11);
  stt::check_block_golden<Basic, float>("basic_block_stride2", 1e-3, 1e-4);
  stt::check_block_golden<Bottle, double>("bottleneck_projection", 1e-9, 1e-11);
  stt::check_block_golden<Bottle, float>("bottleneck_projection", 1e-3, 1e-4);
}

TEST_CASE("resnet blocks: gradient check through batch normalisation and the shortcut") {
  using Basic = st::BasicBlock<4, 2>::bind<Shape<2, 6, 6>>;
  stt::check_layer<Basic>({{4, 3, 3},
                           (4 * 2 * 9 + 8) + (4 * 4 * 9 + 8) + (4 * 2 + 8),
                           4 * 2 * 9 * 9 + 4 * 4 * 9 * 9 + 4 * 2 * 9},
                          ref::none());
}

// x * gate(x), the gate giving one factor per channel.
ref::Reference scale(ref::Reference gate) {
  auto forward = [gate](const stt::Dims& in, std::size_t batch, const double* x, const double* p) {
    const std::vector<double> factors = gate.forward(in, batch, x, p);  // [N, C]
    const std::size_t channels = in[0], plane = in[1] * in[2];
    std::vector<double> y(x, x + batch * channels * plane);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] *= factors[i / plane];
    return y;
  };
  return {"scale", [](const stt::Dims& in) { return in; }, gate.parameter_count, forward};
}

TEST_CASE("squeeze-and-excitation: torchvision's SqueezeExcitation, gradient-checked") {
  using B = st::SqueezeExcite<4>::bind<Shape<8, 3, 3>>;
  const auto gate = ref::chain({ref::global_avg_pool(), ref::conv({.out = 2}), ref::relu(),
                                ref::conv({.out = 8}), ref::sigmoid()});
  stt::check_layer<B>({{8, 3, 3}, (8 * 2 + 2) + (2 * 8 + 8), 8 * 2 + 2 * 8}, scale(gate));
  CHECK(names<B>() == std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"});
}

TEST_CASE("squeeze-and-excitation matches torchvision.ops.SqueezeExcitation") {
  using B = st::SqueezeExciteTo<2>::bind<Shape<8, 4, 3>>;
  stt::check_block_golden<B, double>("squeeze_excite", 1e-10, 1e-12);
  stt::check_block_golden<B, float>("squeeze_excite", 1e-4, 1e-5);
}

TEST_CASE("residual: identity shortcut") {
  using Body = st::Sequential<st::Conv2d<3, 3, st::Pad<1>>, st::ReLU, st::Conv2d<3, 3, st::Pad<1>>>;
  using B = st::Residual<Body>::bind<Shape<3, 5, 5>>;
  const auto conv = ref::conv({.out = 3, .kh = 3, .kw = 3, .ph = 1, .pw = 1});
  stt::check_layer<B>({{3, 5, 5}, 2 * (3 * 3 * 9 + 3), 2 * 3 * 3 * 9 * 25},
                      residual(ref::chain({conv, ref::relu(), conv}), ref::identity()));
  CHECK(names<B>() == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
}

TEST_CASE("residual: projection shortcut with stride") {
  using Body = st::Sequential<st::Conv2d<4, 3, st::Stride<2>, st::Pad<1>>, st::ReLU>;
  using Projection = st::Sequential<st::Conv2d<4, 1, st::Stride<2>, st::NoBias>>;
  using B = st::Residual<Body, Projection>::bind<Shape<2, 6, 6>>;
  stt::check_layer<B>(
      {{4, 3, 3}, (4 * 2 * 9 + 4) + 4 * 2, 4 * 2 * 9 * 9 + 4 * 2 * 9},
      residual(
          ref::chain({ref::conv({.out = 4, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ph = 1, .pw = 1}),
                      ref::relu()}),
          ref::conv({.out = 4, .kh = 1, .kw = 1, .sh = 2, .sw = 2, .bias = false})));
  CHECK(names<B>() == std::vector<std::string>{"0.weight", "0.bias", "downsample.0.weight"});
}

TEST_CASE("residual: activation after the addition, as ResNet's blocks") {
  using Body = st::Sequential<st::Conv2d<2, 3, st::Pad<1>>>;
  using B = st::Residual<Body, st::Identity, st::ReLU>::bind<Shape<2, 4, 4>>;
  stt::check_layer<B>(
      {{2, 4, 4}, 2 * 2 * 9 + 2, 2 * 2 * 9 * 16},
      ref::chain(
          {residual(ref::conv({.out = 2, .kh = 3, .kw = 3, .ph = 1, .pw = 1}), ref::identity()),
           ref::relu()}));
}

TEST_CASE("named children carry PyTorch's names") {
  using Block =
      st::Residual<st::Sequential<st::Named<"conv1", st::Conv2d<2, 3, st::Pad<1>, st::NoBias>>,
                                  st::ReLU, st::Named<"conv2", st::Conv2d<2, 3, st::Pad<1>>>>,
                   st::Identity, st::ReLU>;
  using Net = st::Sequential<st::Input<2, 4, 4>, st::Named<"layer1", st::Stage<3, Block, Block>>,
                             st::Flatten, st::Named<"fc", st::Linear<3>>>;
  const std::vector<std::string> expected{"layer1.0.conv1.weight",
                                          "layer1.0.conv2.weight",
                                          "layer1.0.conv2.bias",
                                          "layer1.1.conv1.weight",
                                          "layer1.1.conv2.weight",
                                          "layer1.1.conv2.bias",
                                          "layer1.2.conv1.weight",
                                          "layer1.2.conv2.weight",
                                          "layer1.2.conv2.bias",
                                          "fc.weight",
                                          "fc.bias"};
  CHECK(names<Net>() == expected);
  // Naming changes nothing else.
  static_assert(Net::parameter_count ==
                st::Sequential<st::Input<2, 4, 4>, st::Repeat<3, Block>, st::Flatten,
                               st::Linear<3>>::parameter_count);
}

TEST_CASE("residual only where the shapes allow it") {
  using Body = st::Sequential<st::Conv2d<3, 3, st::Pad<1>>>;
  using Kept = st::ResidualIfSameShape<Body>::bind<Shape<3, 4, 4>>;
  using Dropped = st::ResidualIfSameShape<Body>::bind<Shape<2, 4, 4>>;
  static_assert(std::is_same_v<Kept, st::Residual<Body>::bind<Shape<3, 4, 4>>>);
  static_assert(std::is_same_v<Dropped, Body::bind<Shape<2, 4, 4>>>);
  // The names are the body's either way, as torchvision's.
  CHECK(names<Kept>() == std::vector<std::string>{"0.weight", "0.bias"});
  CHECK(names<Dropped>() == names<Kept>());
}

TEST_CASE("concat: inception-style branches") {
  using B = st::Concat<st::Conv2d<2, 1>, st::Sequential<st::Conv2d<3, 3, st::Pad<1>>, st::ReLU>,
                       st::MaxPool2d<3, st::Stride<1>, st::Pad<1>>>::bind<Shape<2, 5, 5>>;
  stt::check_layer<B>(
      {{2 + 3 + 2, 5, 5}, (2 * 2 + 2) + (3 * 2 * 9 + 3), (2 * 2 + 3 * 2 * 9) * 25},
      concat({ref::conv({.out = 2}),
              ref::chain({ref::conv({.out = 3, .kh = 3, .kw = 3, .ph = 1, .pw = 1}), ref::relu()}),
              ref::max_pool({.kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1})}));
  CHECK(names<B>() == std::vector<std::string>{"branch1.weight", "branch1.bias", "branch2.0.weight",
                                               "branch2.0.bias"});
}

TEST_CASE("repeat: a stage of residual blocks, named 0 .. N-1") {
  using Block = st::Residual<st::Sequential<st::Conv2d<2, 3, st::Pad<1>>, st::ReLU>>;
  using B = st::Repeat<3, Block>::bind<Shape<2, 4, 4>>;
  const auto block =
      residual(ref::chain({ref::conv({.out = 2, .kh = 3, .kw = 3, .ph = 1, .pw = 1}), ref::relu()}),
               ref::identity());
  stt::check_layer<B>({{2, 4, 4}, 3 * (2 * 2 * 9 + 2), 3 * 2 * 2 * 9 * 16},
                      ref::chain({block, block, block}));
  CHECK(names<B>().front() == "0.0.weight");
  CHECK(names<B>().back() == "2.0.bias");
}

TEST_CASE("blocks compose into a trainable network") {
  using Net = st::Sequential<
      st::Input<1, 8, 8>, st::Conv2d<4, 3, st::Pad<1>>, st::ReLU,
      st::Repeat<2, st::Residual<st::Sequential<st::Conv2d<4, 3, st::Pad<1>>, st::ReLU>>>,
      st::Concat<st::Conv2d<2, 1>, st::AvgPool2d<3, st::Stride<1>, st::Pad<1>>>, st::GlobalAvgPool,
      st::Flatten, st::Linear<2>>;
  static_assert(std::same_as<Net::output_shape, Shape<2>>);
  st::Model<Net> model{st::seed{3}};
  st::Adam adam{model.parameters(), {.lr = 1e-2f}};
  // Two fixed images with opposite labels: the loss must fall as the network fits them.
  std::vector<float> x(2 * 64);
  for (std::size_t i = 0; i < 64; ++i) {
    x[i] = static_cast<float>(i % 8) / 8.0f;
    x[64 + i] = static_cast<float>(i / 8) / 8.0f;
  }
  const std::vector<std::int32_t> labels{0, 1};
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    const st::Loss loss = st::cross_entropy(model.forward(x), labels);
    if (step == 0) first = loss.value;
    last = loss.value;
    model.backward(loss);
    adam.step();
  }
  CHECK(last < 0.1 * first);
}
