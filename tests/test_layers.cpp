// Every layer through the conformance harness (tests/support/conformance.hpp), plus the parts
// of Dropout and cross-entropy that a generic harness cannot state.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <ratio>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "conformance.hpp"
#include "golden.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/lrn.hpp"
#include "strata/layers/pooling.hpp"
#include "strata/train/loss.hpp"

namespace st = strata;
namespace stt = strata::test;
namespace ref = strata::test::ref;
using st::Shape;

namespace {

std::size_t scalar_size(const stt::Golden& g, const char* name) {
  return static_cast<std::size_t>(g.scalar(name));
}

// The reference for a golden case is built from the file's own hyper-parameters, so that it
// states PyTorch's layer and the strata type under test is checked against that, not against
// a restatement of itself.
ref::Reference conv_reference(const char* case_name) {
  const stt::Golden g = stt::load_golden(case_name);
  const std::size_t k = scalar_size(g, "kernel_size"), s = scalar_size(g, "stride"),
                    p = scalar_size(g, "padding"), d = scalar_size(g, "dilation");
  return ref::conv({.out = scalar_size(g, "out_channels"),
                    .kh = k,
                    .kw = k,
                    .sh = s,
                    .sw = s,
                    .ph = p,
                    .pw = p,
                    .dh = d,
                    .dw = d,
                    .groups = scalar_size(g, "groups"),
                    .bias = g.scalar("has_bias") != 0});
}

ref::Reference pool_reference(const char* case_name, bool average) {
  const stt::Golden g = stt::load_golden(case_name);
  const std::size_t k = scalar_size(g, "kernel_size"), s = scalar_size(g, "stride"),
                    p = scalar_size(g, "padding");
  if (average) REQUIRE(g.scalar("count_include_pad") == 1);
  const ref::PoolOptions options{
      .kh = k, .kw = k, .sh = s, .sw = s, .ph = p, .pw = p, .ceil = g.scalar("ceil_mode") != 0};
  return average ? ref::avg_pool(options) : ref::max_pool(options);
}

std::vector<double> golden_values(const char* case_name, const char* tensor) {
  return stt::load_golden(case_name).tensor(tensor).values;
}

// The eval-mode reference and the harness's initial buffers from one golden file, so that the
// configuration checks run on PyTorch's running statistics.
ref::Reference batchnorm_eval_reference(const char* case_name) {
  const stt::Golden g = stt::load_golden(case_name);
  REQUIRE(g.scalar("training") == 0);
  return ref::batchnorm({.training = false,
                         .eps = g.scalar("eps"),
                         .running_mean = g.tensor("running_mean").values,
                         .running_var = g.tensor("running_var").values});
}

ref::Reference lrn_reference(const char* case_name) {
  const stt::Golden g = stt::load_golden(case_name);
  return ref::lrn({.size = scalar_size(g, "size"),
                   .alpha = g.scalar("alpha"),
                   .beta = g.scalar("beta"),
                   .k = g.scalar("k")});
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// PyTorch golden cases: golden values, naive reference, gradients, float vs double, counts.
// ---------------------------------------------------------------------------------------------

TEST_CASE("conv_basic") {
  using B = st::Conv2d<4, 3, st::Pad<1>>::bind<Shape<3, 7, 7>>;
  stt::check_golden<B>("conv_basic");
  stt::check_layer<B>({{4, 7, 7}, 4 * 3 * 9 + 4, 4 * 3 * 9 * 7 * 7}, conv_reference("conv_basic"));
}

TEST_CASE("conv_stride2_nobias") {
  using B = st::Conv2d<5, 3, st::Stride<2>, st::NoBias>::bind<Shape<4, 9, 8>>;
  stt::check_golden<B>("conv_stride2_nobias");
  stt::check_layer<B>({{5, 4, 3}, 5 * 4 * 9, 5 * 4 * 9 * 4 * 3},
                      conv_reference("conv_stride2_nobias"));
}

TEST_CASE("conv_groups") {
  using B = st::Conv2d<6, 3, st::Pad<1>, st::Groups<2>>::bind<Shape<4, 6, 6>>;
  stt::check_golden<B>("conv_groups");
  stt::check_layer<B>({{6, 6, 6}, 6 * 2 * 9 + 6, 6 * 2 * 9 * 6 * 6}, conv_reference("conv_groups"));
}

TEST_CASE("conv_depthwise") {
  using B = st::Conv2d<4, 3, st::Stride<2>, st::Pad<1>, st::Groups<4>>::bind<Shape<4, 7, 7>>;
  stt::check_golden<B>("conv_depthwise");
  stt::check_layer<B>({{4, 4, 4}, 4 * 9 + 4, 4 * 9 * 4 * 4}, conv_reference("conv_depthwise"));
}

TEST_CASE("conv_1x7, conv_7x1_stride2, conv_dilated: rectangular and dilated kernels") {
  using Wide = st::Conv2d<4, st::Kernel{1, 7}, st::Pad<0, 3>>::bind<Shape<3, 6, 9>>;
  stt::check_golden<Wide>("conv_1x7");
  stt::check_layer<Wide>({{4, 6, 9}, 4 * 3 * 7 + 4, 4 * 3 * 7 * 54},
                         ref::conv({.out = 4, .kh = 1, .kw = 7, .pw = 3}));
  using Tall =
      st::Conv2d<4, st::Kernel{7, 1}, st::Stride<2, 1>, st::Pad<3, 0>>::bind<Shape<3, 9, 5>>;
  stt::check_golden<Tall>("conv_7x1_stride2");
  stt::check_layer<Tall>({{4, 5, 5}, 4 * 3 * 7 + 4, 4 * 3 * 7 * 25},
                         ref::conv({.out = 4, .kh = 7, .kw = 1, .sh = 2, .ph = 3}));
  using Dilated = st::Conv2d<4, 3, st::Pad<2>, st::Dilation<2>>::bind<Shape<3, 9, 8>>;
  stt::check_golden<Dilated>("conv_dilated");
  stt::check_layer<Dilated>(
      {{4, 9, 8}, 4 * 3 * 9 + 4, 4 * 3 * 9 * 72},
      ref::conv({.out = 4, .kh = 3, .kw = 3, .ph = 2, .pw = 2, .dh = 2, .dw = 2}));
}

TEST_CASE("conv: the direct path's full and partial tiles (20 channels from 10, 9x11 image)") {
  // With AVX-512 this convolution takes the direct path (stride 1, same size): two full tiles of
  // 8 output channels and one of 4; 99 pixels are 6 full 16-lane vectors plus a 3-lane tail,
  // i.e. two full groups of 3 vectors and a remainder of 1. The reference and the double
  // instantiation (which takes im2col + GEMM) check every part.
  using B = st::Conv2d<20, 3, st::Pad<1>>::bind<Shape<10, 9, 11>>;
  stt::check_layer<B>({{20, 9, 11}, 20 * 10 * 9 + 20, 20 * 10 * 9 * 99},
                      ref::conv({.out = 20, .kh = 3, .kw = 3, .ph = 1, .pw = 1}));
  // 256 pixels: the weight gradient reduces 4 images per group, so a batch of 9 makes two full
  // groups and a partial one, spread unevenly over two threads.
  using Grouped = st::Conv2d<9, 3, st::Pad<1>, st::NoBias>::bind<Shape<3, 16, 16>>;
  // A 4x4 plane is one vector: tiles of three vectors span three images.
  using Tiny = st::Conv2d<10, 3, st::Pad<1>>::bind<Shape<6, 4, 4>>;
  stt::CheckOptions five_images;
  five_images.batch = 5;
  stt::check_layer<Tiny>({{10, 4, 4}, 10 * 6 * 9 + 10, 10 * 6 * 9 * 16},
                         ref::conv({.out = 10, .kh = 3, .kw = 3, .ph = 1, .pw = 1}), five_images);
  stt::CheckOptions nine_images;
  nine_images.batch = 9;
  stt::check_layer<Grouped>(
      {{9, 16, 16}, 9 * 3 * 9, 9 * 3 * 9 * 256},
      ref::conv({.out = 9, .kh = 3, .kw = 3, .ph = 1, .pw = 1, .bias = false}), nine_images);
}

TEST_CASE("conv: the direct depthwise path (3x3 with bias, 5x5 without)") {
  // Stride-1 same-size depthwise convolutions take the direct path with AVX-512: 99 pixels are
  // 7 vectors, a remainder tile; the weight gradient reduces the whole batch per channel.
  using B = st::Conv2d<12, 3, st::Pad<1>, st::Groups<12>>::bind<Shape<12, 9, 11>>;
  stt::check_layer<B>({{12, 9, 11}, 12 * 9 + 12, 12 * 9 * 99},
                      ref::conv({.out = 12, .kh = 3, .kw = 3, .ph = 1, .pw = 1, .groups = 12}));
  using Wide = st::Conv2d<5, 5, st::Pad<2>, st::Groups<5>, st::NoBias>::bind<Shape<5, 12, 12>>;
  stt::check_layer<Wide>(
      {{5, 12, 12}, 5 * 25, 5 * 25 * 144},
      ref::conv({.out = 5, .kh = 5, .kw = 5, .ph = 2, .pw = 2, .groups = 5, .bias = false}));
}

TEST_CASE("conv_5x5") {
  using B = st::Conv2d<2, 5, st::Pad<2>>::bind<Shape<1, 8, 8>>;
  stt::check_golden<B>("conv_5x5");
  stt::check_layer<B>({{2, 8, 8}, 2 * 25 + 2, 2 * 25 * 8 * 8}, conv_reference("conv_5x5"));
}

TEST_CASE("conv_1x1") {
  using B = st::Conv2d<3, 1>::bind<Shape<6, 4, 4>>;
  stt::check_golden<B>("conv_1x1");
  stt::check_layer<B>({{3, 4, 4}, 3 * 6 + 3, 3 * 6 * 4 * 4}, conv_reference("conv_1x1"));
}

TEST_CASE("linear") {
  using B = st::Linear<4>::bind<Shape<5>>;
  stt::check_golden<B>("linear");
  stt::check_layer<B>({{4}, 5 * 4 + 4, 5 * 4}, ref::linear(4));
}

TEST_CASE("relu") {
  using B = st::ReLU::bind<Shape<3, 4, 4>>;
  stt::check_golden<B>("relu");
  stt::check_layer<B>({{3, 4, 4}, 0, 0}, ref::relu());
}

TEST_CASE("maxpool_2") {
  using B = st::MaxPool2d<2>::bind<Shape<3, 6, 6>>;
  stt::check_golden<B>("maxpool_2");
  stt::check_layer<B>({{3, 3, 3}, 0, 0}, pool_reference("maxpool_2", false));
}

TEST_CASE("maxpool_3s2") {
  using B = st::MaxPool2d<3, st::Stride<2>>::bind<Shape<2, 7, 7>>;
  stt::check_golden<B>("maxpool_3s2");
  stt::check_layer<B>({{2, 3, 3}, 0, 0}, pool_reference("maxpool_3s2", false));
}

TEST_CASE("maxpool_3s2p1") {
  using B = st::MaxPool2d<3, st::Stride<2>, st::Pad<1>>::bind<Shape<2, 8, 8>>;
  stt::check_golden<B>("maxpool_3s2p1");
  stt::check_layer<B>({{2, 4, 4}, 0, 0}, pool_reference("maxpool_3s2p1", false));
  // In evaluation no indices are kept and the backward recomputes them.
  stt::CheckOptions evaluation;
  evaluation.training = false;
  stt::check_layer<B>({{2, 4, 4}, 0, 0}, pool_reference("maxpool_3s2p1", false), evaluation);
}

TEST_CASE("avgpool_2") {
  using B = st::AvgPool2d<2>::bind<Shape<3, 6, 6>>;
  stt::check_golden<B>("avgpool_2");
  stt::check_layer<B>({{3, 3, 3}, 0, 0}, pool_reference("avgpool_2", true));
}

TEST_CASE("avgpool_3s1p1") {
  using B = st::AvgPool2d<3, st::Stride<1>, st::Pad<1>>::bind<Shape<2, 5, 5>>;
  stt::check_golden<B>("avgpool_3s1p1");
  stt::check_layer<B>({{2, 5, 5}, 0, 0}, pool_reference("avgpool_3s1p1", true));
}

TEST_CASE("global_avgpool") {
  using B = st::GlobalAvgPool::bind<Shape<3, 5, 5>>;
  stt::check_golden<B>("global_avgpool");
  stt::check_layer<B>({{3, 1, 1}, 0, 0}, ref::global_avg_pool());
}

TEST_CASE("relu6") {
  using B = st::ReLU6::bind<Shape<3, 4, 4>>;
  stt::check_golden<B>("relu6");
  stt::check_layer<B>({{3, 4, 4}, 0, 0}, ref::relu6());
}

TEST_CASE("silu") {
  using B = st::SiLU::bind<Shape<3, 4, 4>>;
  stt::check_golden<B>("silu");
  stt::check_layer<B>({{3, 4, 4}, 0, 0}, ref::silu());
}

TEST_CASE("sigmoid") {
  using B = st::Sigmoid::bind<Shape<3, 4, 4>>;
  stt::check_golden<B>("sigmoid");
  stt::check_layer<B>({{3, 4, 4}, 0, 0}, ref::sigmoid());
}

TEST_CASE("hardswish") {
  using B = st::Hardswish::bind<Shape<3, 4, 4>>;
  stt::check_golden<B>("hardswish");
  stt::check_layer<B>({{3, 4, 4}, 0, 0}, ref::hardswish());
}

TEST_CASE("hardsigmoid") {
  using B = st::Hardsigmoid::bind<Shape<3, 4, 4>>;
  stt::check_golden<B>("hardsigmoid");
  stt::check_layer<B>({{3, 4, 4}, 0, 0}, ref::hardsigmoid());
}

TEST_CASE("tanh") {
  using B = st::Tanh::bind<Shape<3, 4, 4>>;
  stt::check_golden<B>("tanh");
  stt::check_layer<B>({{3, 4, 4}, 0, 0}, ref::tanh());
}

TEST_CASE("softmax") {
  using B = st::Softmax::bind<Shape<6>>;
  stt::check_golden<B>("softmax");
  stt::check_layer<B>({{6}, 0, 0}, ref::softmax());
}

TEST_CASE("lrn") {
  using B = st::LocalResponseNorm<5>::bind<Shape<7, 4, 4>>;
  stt::check_golden<B>("lrn");
  stt::check_layer<B>({{7, 4, 4}, 0, 0}, lrn_reference("lrn"));
}

// Training: the golden file also checks the running-statistics update (running_*_after), and
// the gradient check differentiates through the batch statistics.
TEST_CASE("batchnorm_train") {
  using B = st::BatchNorm2d<>::bind<Shape<3, 5, 5>>;
  stt::check_golden<B>("batchnorm_train");
  stt::check_layer<B>({{3, 5, 5}, 2 * 3, 0}, ref::batchnorm({.training = true}));
}

TEST_CASE("batchnorm_eval") {
  using B = st::BatchNorm2d<>::bind<Shape<3, 5, 5>>;
  stt::check_golden<B>("batchnorm_eval", {.training = false});
  stt::CheckOptions options;
  options.training = false;
  options.buffers = golden_values("batchnorm_eval", "running_mean");
  const auto var = golden_values("batchnorm_eval", "running_var");
  options.buffers.insert(options.buffers.end(), var.begin(), var.end());
  stt::check_layer<B>({{3, 5, 5}, 2 * 3, 0}, batchnorm_eval_reference("batchnorm_eval"), options);
}

// ---------------------------------------------------------------------------------------------
// Configurations without golden values: naive reference, gradients, float vs double, counts.
// ---------------------------------------------------------------------------------------------

TEST_CASE("conv: dilation 2") {
  using B = st::Conv2d<4, 3, st::Dilation<2>, st::Pad<2>>::bind<Shape<2, 9, 9>>;
  stt::check_layer<B>({{4, 9, 9}, 4 * 2 * 9 + 4, 4 * 2 * 9 * 9 * 9},
                      ref::conv({.out = 4, .kh = 3, .kw = 3, .ph = 2, .pw = 2, .dh = 2, .dw = 2}));
}

TEST_CASE("conv: 1x3 kernel, stride 2x1, pad 0x1") {
  using B = st::Conv2d<3, st::Kernel{1, 3}, st::Pad<0, 1>, st::Stride<2, 1>>::bind<Shape<2, 7, 6>>;
  stt::check_layer<B>({{3, 4, 6}, 3 * 2 * 3 + 3, 3 * 2 * 3 * 4 * 6},
                      ref::conv({.out = 3, .kh = 1, .kw = 3, .sh = 2, .sw = 1, .ph = 0, .pw = 1}));
}

TEST_CASE("conv: every option at once, all rectangular") {
  using B = st::Conv2d<6, st::Kernel{3, 2}, st::Stride<2, 1>, st::Pad<1, 0>, st::Dilation<1, 2>,
                       st::Groups<3>, st::NoBias>::bind<Shape<3, 8, 7>>;
  stt::check_layer<B>({{6, 4, 5}, 6 * 1 * 6, 6 * 1 * 6 * 4 * 5}, ref::conv({.out = 6,
                                                                            .kh = 3,
                                                                            .kw = 2,
                                                                            .sh = 2,
                                                                            .sw = 1,
                                                                            .ph = 1,
                                                                            .pw = 0,
                                                                            .dh = 1,
                                                                            .dw = 2,
                                                                            .groups = 3,
                                                                            .bias = false}));
}

TEST_CASE("conv: depthwise off the direct path, strided, dilated and rectangular") {
  // Column stride 3 splits each plane into three column phases of unequal width (11 columns:
  // 4, 4, 3); the kernel's columns land in different phases, some reading padding.
  using Strided = st::Conv2d<4, st::Kernel{2, 3}, st::Stride<2, 3>, st::Pad<1, 2>,
                             st::Dilation<1, 2>, st::Groups<4>>::bind<Shape<4, 7, 11>>;
  stt::check_layer<Strided>({{4, 4, 4}, 4 * 6 + 4, 4 * 6 * 4 * 4}, ref::conv({.out = 4,
                                                                              .kh = 2,
                                                                              .kw = 3,
                                                                              .sh = 2,
                                                                              .sw = 3,
                                                                              .ph = 1,
                                                                              .pw = 2,
                                                                              .dh = 1,
                                                                              .dw = 2,
                                                                              .groups = 4}));
  // Stride 1 with a shrinking output is depthwise but not on the direct path in float either.
  using Valid = st::Conv2d<3, 3, st::Groups<3>, st::NoBias>::bind<Shape<3, 6, 5>>;
  stt::check_layer<Valid>({{3, 4, 3}, 3 * 9, 3 * 9 * 4 * 3},
                          ref::conv({.out = 3, .kh = 3, .kw = 3, .groups = 3, .bias = false}));
}

TEST_CASE("conv: 1x1 with stride 2 (needs im2col)") {
  using B = st::Conv2d<3, 1, st::Stride<2>>::bind<Shape<4, 5, 5>>;
  stt::check_layer<B>({{3, 3, 3}, 3 * 4 + 3, 3 * 4 * 3 * 3},
                      ref::conv({.out = 3, .kh = 1, .kw = 1, .sh = 2, .sw = 2}));
}

TEST_CASE("linear: no bias") {
  using B = st::Linear<7, st::NoBias>::bind<Shape<12>>;
  stt::check_layer<B>({{7}, 7 * 12, 7 * 12}, ref::linear(7, false));
}

TEST_CASE("linear: batch 1 takes the matrix-vector path, forward and input gradient") {
  // Wide enough that two threads split the output columns.
  using B = st::Linear<300>::bind<Shape<70>>;
  stt::CheckOptions one_image;
  one_image.batch = 1;
  stt::check_layer<B>({{300}, 300 * 70 + 300, 300 * 70}, ref::linear(300), one_image);
}

TEST_CASE("linear: large enough for the multi-threaded GEMM") {
  // gemm_parallel splits only products of at least 2 * 64^3 multiply-adds.
  using B = st::Linear<256>::bind<Shape<256>>;
  stt::CheckOptions options;
  options.batch = 8;
  stt::check_layer<B>({{256}, 256 * 256 + 256, 256 * 256}, ref::linear(256), options);
}

TEST_CASE("relu: flat input") {
  using B = st::ReLU::bind<Shape<50>>;
  stt::check_layer<B>({{50}, 0, 0}, ref::relu());
}

TEST_CASE("maxpool: ceil mode") {
  using B = st::MaxPool2d<3, st::Stride<2>, st::CeilMode>::bind<Shape<2, 8, 8>>;
  stt::check_layer<B>({{2, 4, 4}, 0, 0},
                      ref::max_pool({.kh = 3, .kw = 3, .sh = 2, .sw = 2, .ceil = true}));
}

TEST_CASE("maxpool: ceil mode drops a window that would start in the padding") {
  // floor((5 + 2 - 2) / 2) + 1 = 3, ceil gives 4, but the 4th window would start at padded
  // index 6, past the input and its left padding, so PyTorch keeps 3.
  using B = st::MaxPool2d<2, st::Pad<1>, st::CeilMode>::bind<Shape<2, 5, 5>>;
  stt::check_layer<B>(
      {{2, 3, 3}, 0, 0},
      ref::max_pool({.kh = 2, .kw = 2, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .ceil = true}));
}

TEST_CASE("maxpool: rectangular kernel and stride") {
  using B = st::MaxPool2d<st::Kernel{2, 3}, st::Stride<2, 1>>::bind<Shape<2, 6, 7>>;
  stt::check_layer<B>({{2, 3, 5}, 0, 0}, ref::max_pool({.kh = 2, .kw = 3, .sh = 2, .sw = 1}));
}

TEST_CASE("avgpool: ceil mode with padding (count_include_pad divisor)") {
  using B = st::AvgPool2d<3, st::Stride<2>, st::Pad<1>, st::CeilMode>::bind<Shape<2, 6, 6>>;
  stt::check_layer<B>(
      {{2, 4, 4}, 0, 0},
      ref::avg_pool({.kh = 3, .kw = 3, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .ceil = true}));
}

TEST_CASE("global avgpool: rectangular plane") {
  using B = st::GlobalAvgPool::bind<Shape<3, 4, 6>>;
  stt::check_layer<B>({{3, 1, 1}, 0, 0}, ref::global_avg_pool());
}

TEST_CASE("activations: flat input, and ReLU6's upper kink") {
  stt::check_layer<st::ReLU6::bind<Shape<20>>>({{20}, 0, 0}, ref::relu6());
  stt::check_layer<st::SiLU::bind<Shape<20>>>({{20}, 0, 0}, ref::silu());
  stt::check_layer<st::Sigmoid::bind<Shape<20>>>({{20}, 0, 0}, ref::sigmoid());
  stt::check_layer<st::Tanh::bind<Shape<20>>>({{20}, 0, 0}, ref::tanh());
  // Inputs 7 * distinct_values reach past 6 and stay 7/n away from both kinks.
  using B = st::ReLU6::bind<Shape<40>>;
  const auto ops = stt::ops_of<B, double>();
  st::Rng rng(3);
  std::vector<double> x = stt::distinct_values(40, rng);
  for (double& v : x) v *= 7;
  stt::Runner<double> run(ops, 1, 1, true, 1);
  const auto y = run.forward(x);
  const std::vector<double> dy(40, 1.0);
  const auto g = run.backward(x, y, dy);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(y[i] == std::min(std::max(x[i], 0.0), 6.0));
    CHECK(g.dx[i] == (x[i] > 0 && x[i] < 6 ? 1.0 : 0.0));
  }
}

TEST_CASE("softmax: extreme logits stay finite and sum to 1") {
  using B = st::Softmax::bind<Shape<3>>;
  const auto ops = stt::ops_of<B, float>();
  stt::Runner<float> run(ops, 1, 1, false, 1);
  const auto y = run.forward({1000.0f, -1000.0f, 999.0f});
  CHECK(y[0] + y[1] + y[2] == doctest::Approx(1.0f));
  CHECK(y[1] == 0.0f);
  CHECK(y[0] == doctest::Approx(1.0 / (1.0 + std::exp(-1.0))));
}

TEST_CASE("lrn: strong normalisation, even and odd windows") {
  // alpha large enough that the cross-channel terms of the gradient are not negligible; an even
  // size makes the window asymmetric (size/2 before, (size-1)/2 after).
  using Even = st::LocalResponseNorm<4, std::ratio<3, 2>, std::ratio<3, 4>, std::ratio<1>>;
  stt::check_layer<Even::bind<Shape<6, 3, 2>>>({{6, 3, 2}, 0, 0},
                                               ref::lrn({.size = 4, .alpha = 1.5, .k = 1}));
  using Odd = st::LocalResponseNorm<3, std::ratio<2>, std::ratio<1>, std::ratio<1, 2>>;
  stt::check_layer<Odd::bind<Shape<5, 2, 3>>>(
      {{5, 2, 3}, 0, 0}, ref::lrn({.size = 3, .alpha = 2, .beta = 1, .k = 0.5}));
  // A window wider than the channels.
  using Wide = st::LocalResponseNorm<7, std::ratio<1>>;
  stt::check_layer<Wide::bind<Shape<2, 2, 2>>>({{2, 2, 2}, 0, 0},
                                               ref::lrn({.size = 7, .alpha = 1}));
}

TEST_CASE("batchnorm: flat input has BatchNorm1d's semantics") {
  using B = st::BatchNorm2d<>::bind<Shape<6>>;
  CHECK(B::describe() == "BatchNorm1d(6)");
  stt::check_layer<B>({{6}, 12, 0}, ref::batchnorm({.training = true}));
  stt::CheckOptions options;
  options.batch = 4;
  stt::check_layer<B>({{6}, 12, 0}, ref::batchnorm({.training = true}), options);
}

// Inputs whose mean is large against their spread, where float sums of the raw values (and
// x * scale - mean * scale) lose the spread: the harness holds float to double, and the
// running variance is held to the double-precision variance of the same float inputs at
// PyTorch's accuracy (its float32 kernel is off by 6.6e-8 relative here).
TEST_CASE("batchnorm: inputs far from zero against their spread (300 +- 0.05)") {
  stt::CheckOptions options;
  options.input_offset = 300;
  options.input_spread = 0.05;
  // The finite differences' own floor: in double, the batch mean of values near 300 rounds by
  // ~3e-14 differently in the two evaluations and moves the whole channel's output with it,
  // ~1e-7 over a step of 2e-6 (dx reaches 35 here). The float path is held tighter than usual.
  options.gradient = {1e-6, 1e-6};
  options.float_vs_double = {1e-5, 1e-6};
  using B = st::BatchNorm2d<>::bind<Shape<3, 5, 5>>;
  stt::check_layer<B>({{3, 5, 5}, 2 * 3, 0}, ref::batchnorm({.training = true}), options);
  options.batch = 1;
  stt::check_layer<B>({{3, 5, 5}, 2 * 3, 0}, ref::batchnorm({.training = true}), options);
  options.batch = 4;
  using Flat = st::BatchNorm2d<>::bind<Shape<5>>;
  stt::check_layer<Flat>({{5}, 2 * 5, 0}, ref::batchnorm({.training = true}), options);

  // Momentum 1: the running statistics are the batch's, mean and unbiased variance.
  using Exact = st::BatchNorm2d<st::Momentum<1, 1>>::bind<Shape<3, 7, 7>>;
  for (const std::size_t batch : {1, 8}) {
    CAPTURE(batch);
    std::mt19937_64 rng(batch);
    std::uniform_real_distribution<double> spread(-0.05, 0.05);
    std::vector<float> x(batch * Exact::input_shape::size);
    for (float& v : x) v = static_cast<float>(300 + spread(rng));
    const auto ops = stt::ops_of<Exact, float>();
    stt::Runner<float> run(ops, batch, 1, true, 1);
    run.params = {1, 1, 1, 0, 0, 0};
    run.forward(x);
    const auto& after = run.buffers_after();  // [mean x3, var x3]
    const std::size_t plane = 49, count = batch * plane;
    for (std::size_t c = 0; c < 3; ++c) {
      double mean = 0, squares = 0;
      for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < plane; ++i) mean += x[(n * 3 + c) * plane + i];
      mean /= double(count);
      for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < plane; ++i) {
          const double d = x[(n * 3 + c) * plane + i] - mean;
          squares += d * d;
        }
      const double var = squares / double(count - 1);
      CAPTURE(c);
      CHECK(std::abs(double(after[c]) - mean) <= 1e-7 * mean);
      CHECK(std::abs(double(after[3 + c]) - var) <= 1e-6 * var);
    }
  }
}

TEST_CASE("batchnorm: eval mode with random running statistics, larger image") {
  using B = st::BatchNorm2d<>::bind<Shape<4, 3, 5>>;
  stt::CheckOptions options;
  options.training = false;
  options.buffers = {0.5, -0.25, 1.0, 0.0, 0.8, 1.5, 0.3, 2.0};
  stt::check_layer<B>({{4, 3, 5}, 8, 0},
                      ref::batchnorm({.training = false,
                                      .running_mean = {0.5, -0.25, 1.0, 0.0},
                                      .running_var = {0.8, 1.5, 0.3, 2.0}}),
                      options);
}

TEST_CASE("batchnorm: init, buffers, and the running-statistics rule with options") {
  using Spec = st::BatchNorm2d<st::Eps<1, 1000>, st::Momentum<1, 100>>;
  static_assert(Spec::eps == 1e-3 && Spec::momentum == 0.01);
  using B = Spec::bind<Shape<2, 2, 2>>;
  static_assert(B::buffers.size() == 2 && B::buffers[0].name.view() == "running_mean" &&
                B::buffers[1].name.view() == "running_var");
  static_assert(B::params[0].name.view() == "weight" && B::params[1].name.view() == "bias");
  const auto ops = stt::ops_of<B, double>();
  stt::Runner<double> run(ops, 2, 1, true, 1);
  CHECK(run.buffers == std::vector<double>{0, 0, 1, 1});
  run.params = {1, 2, 0, 0.5};
  run.buffers = {0.5, -1, 2, 3};
  // channel 0: 1..8 in the two samples; channel 1: all 4.
  const std::vector<double> x{1, 2, 3, 4, 4, 4, 4, 4, 5, 6, 7, 8, 4, 4, 4, 4};
  const auto y = run.forward(x);
  const double mean = 4.5, biased = 5.25, unbiased = 6.0;
  const auto& after = run.buffers_after();
  CHECK(after[0] == doctest::Approx(0.99 * 0.5 + 0.01 * mean));
  CHECK(after[1] == doctest::Approx(0.99 * -1 + 0.01 * 4));
  CHECK(after[2] == doctest::Approx(0.99 * 2 + 0.01 * unbiased));
  CHECK(after[3] == doctest::Approx(0.99 * 3));
  CHECK(y[0] == doctest::Approx((1 - mean) / std::sqrt(biased + 1e-3)));
  CHECK(y[4] == doctest::Approx(0.5));  // a constant channel normalises to its bias

  // Evaluation reads the running statistics and leaves them alone.
  stt::Runner<double> eval(ops, 2, 1, false, 1);
  eval.params = run.params;
  eval.buffers = {0.5, -1, 2, 3};
  const auto ye = eval.forward(x);
  CHECK(eval.buffers_after() == eval.buffers);
  CHECK(ye[0] == doctest::Approx((1 - 0.5) / std::sqrt(2 + 1e-3)));
  CHECK(ye[4] == doctest::Approx(2 * (4 + 1) / std::sqrt(3 + 1e-3) + 0.5));
}

TEST_CASE("sequential: conv, batchnorm, tanh (buffers and saved statistics through a container)") {
  using B = st::Sequential<st::Conv2d<3, 3, st::Pad<1>>, st::BatchNorm2d<>,
                           st::Tanh>::bind<Shape<2, 5, 5>>;
  stt::check_layer<B>({{3, 5, 5}, (3 * 2 * 9 + 3) + 2 * 3, 3 * 2 * 9 * 5 * 5},
                      ref::chain({ref::conv({.out = 3, .kh = 3, .kw = 3, .ph = 1, .pw = 1}),
                                  ref::batchnorm({.training = true}), ref::tanh()}));
}

TEST_CASE("flatten") {
  using B = st::Flatten::bind<Shape<3, 4, 5>>;
  stt::check_layer<B>({{60}, 0, 0}, ref::flatten());
}

TEST_CASE("dropout: evaluation mode is the identity") {
  using B = st::Dropout<50>::bind<Shape<2, 5, 5>>;
  stt::CheckOptions options;
  options.training = false;
  stt::check_layer<B>({{2, 5, 5}, 0, 0}, ref::identity(), options);
}

TEST_CASE("dropout: training mode, gradients with the mask held fixed") {
  // The harness reseeds the generator before every forward, so each draws the same mask.
  using B = st::Dropout<30>::bind<Shape<2, 5, 5>>;
  stt::check_layer<B>({{2, 5, 5}, 0, 0}, ref::none());
}

TEST_CASE("dropout: p = 0 is the identity in training") {
  using B = st::Dropout<0>::bind<Shape<40>>;
  stt::check_layer<B>({{40}, 0, 0}, ref::identity());
}

TEST_CASE("sequential: conv, relu, maxpool, flatten, linear") {
  using B = st::Sequential<st::Conv2d<3, 3, st::Pad<1>>, st::ReLU, st::MaxPool2d<2>, st::Flatten,
                           st::Linear<5>>::bind<Shape<2, 8, 8>>;
  stt::check_layer<B>({{5}, (3 * 2 * 9 + 3) + (48 * 5 + 5), 3 * 2 * 9 * 8 * 8 + 48 * 5},
                      ref::chain({ref::conv({.out = 3, .kh = 3, .kw = 3, .ph = 1, .pw = 1}),
                                  ref::relu(), ref::max_pool({.kh = 2, .kw = 2, .sh = 2, .sw = 2}),
                                  ref::flatten(), ref::linear(5)}));
}

TEST_CASE("sequential: nested block, two convolutions, dropout in eval") {
  using Block = st::Sequential<st::Conv2d<4, 3, st::Pad<1>>, st::ReLU>;
  using B = st::Sequential<Block, st::Conv2d<2, 3, st::Stride<2>>, st::Dropout<20>,
                           st::GlobalAvgPool, st::Flatten, st::Linear<3>>::bind<Shape<1, 7, 7>>;
  stt::CheckOptions options;
  options.training = false;
  stt::check_layer<B>(
      {{3}, (4 * 9 + 4) + (2 * 4 * 9 + 2) + (2 * 3 + 3), 4 * 9 * 7 * 7 + 2 * 4 * 9 * 3 * 3 + 2 * 3},
      ref::chain({ref::conv({.out = 4, .kh = 3, .kw = 3, .ph = 1, .pw = 1}), ref::relu(),
                  ref::conv({.out = 2, .kh = 3, .kw = 3, .sh = 2, .sw = 2}), ref::identity(),
                  ref::global_avg_pool(), ref::flatten(), ref::linear(3)}),
      options);
}

// ---------------------------------------------------------------------------------------------
// NaN propagation: a diverged network must show NaN, not silently turn it into finite values.
// PyTorch 1.13: relu(nan) = nan; max_pool2d takes a window's NaN as its maximum
// ((val > max) || isnan(val)) and routes the gradient to it.
// ---------------------------------------------------------------------------------------------

TEST_CASE("relu and max pooling propagate NaN as PyTorch") {
  constexpr float nan = std::numeric_limits<float>::quiet_NaN();
  st::Ctx<float, st::cpu> ctx;
  ctx.batch = 1;

  SUBCASE("relu") {
    std::vector<float> x{nan, -1.f, 2.f}, y(3);
    st::ReLU::bind<Shape<3>>::forward(ctx, x.data(), y.data());
    CHECK(std::isnan(y[0]));
    CHECK(y[1] == 0.f);
    CHECK(y[2] == 2.f);
  }
  // x = [[1, 2, 5, nan], [nan, 3, 0, 0]]; the NaN is never the first element of its window.
  const std::vector<float> x{1.f, 2.f, 5.f, nan, nan, 3.f, 0.f, 0.f};
  SUBCASE("max pool without padding") {
    using B = st::MaxPool2d<2>::bind<Shape<1, 2, 4>>;
    std::vector<float> y(2), dy{1.f, 1.f}, dx(8);
    B::forward(ctx, x.data(), y.data());
    CHECK_MESSAGE(std::isnan(y[0]), "window [1, 2; nan, 3] gave " << y[0]);
    CHECK_MESSAGE(std::isnan(y[1]), "window [5, nan; 0, 0] gave " << y[1]);
    B::backward(ctx, x.data(), y.data(), dy.data(), dx.data());
    CHECK(dx == std::vector<float>{0, 0, 0, 1, 1, 0, 0, 0});
  }
  SUBCASE("max pool with padding") {
    // 2x2 windows, stride 2, padding 1: output (1, 1) reads row 1, columns 1..2 = [0, nan].
    // PyTorch: [[1, 5, 4], [0, nan, 0]].
    using B = st::MaxPool2d<2, st::Pad<1>>::bind<Shape<1, 2, 4>>;
    const std::vector<float> x_pad{1.f, 2.f, 5.f, 4.f, 0.f, 0.f, nan, 0.f};
    std::vector<float> y(6), dy(6, 1.f), dx(8), saved(B::saved_per_sample);
    ctx.saved = saved.data();  // the argmax of each window, kept for backward
    B::forward(ctx, x_pad.data(), y.data());
    CHECK_MESSAGE(std::isnan(y[4]), "window [0, nan] gave " << y[4]);
    CHECK(y[1] == 5.f);
    // Each output's gradient goes to its window's maximum, the NaN's for window (1, 1).
    B::backward(ctx, x_pad.data(), y.data(), dy.data(), dx.data());
    CHECK(dx == std::vector<float>{1, 0, 1, 1, 1, 0, 1, 1});
  }
}

// ---------------------------------------------------------------------------------------------
// Dropout's statistics: what a finite-difference check cannot see.
// ---------------------------------------------------------------------------------------------

// Random123's published known-answer vectors (its tests/kat_vectors).
TEST_CASE("the masks' generator is Philox4x32-10") {
  using P = st::backend::Philox4x32;
  const auto same = [](P a, P b) { return std::equal(a.x, a.x + 4, b.x); };
  CHECK(same(st::backend::philox4x32_10({{0, 0, 0, 0}}, 0),
             {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}));
  CHECK(same(st::backend::philox4x32_10({{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
                                        0xffffffffffffffffull),
             {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}));
  CHECK(same(st::backend::philox4x32_10({{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
                                        0x299f31d0a4093822ull),
             {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}));
}

TEST_CASE_TEMPLATE("dropout: training drops p of the elements and scales survivors", T, float,
                   double) {
  using B = st::Dropout<30>::bind<Shape<4, 16, 16>>;
  constexpr std::size_t batch = 8, count = batch * 4 * 16 * 16;
  const auto ops = stt::ops_of<B, T>();
  st::Rng rng(7);
  const auto x = stt::narrow<T>(stt::distinct_values(count, rng));  // no zeros
  const auto dy = stt::narrow<T>(stt::uniform_values(count, rng));
  const T keep_scale = static_cast<T>(1.0 / (1.0 - 0.3));

  stt::Runner<T> run(ops, batch, 1, /*training=*/true, /*seed=*/42);
  const auto y = run.forward(x);
  const auto grads = run.backward(x, y, dy);
  std::size_t zeros = 0, wrong_value = 0, wrong_gradient = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const bool dropped = y[i] == T(0);
    zeros += dropped;
    wrong_value += !dropped && y[i] != x[i] * keep_scale;
    wrong_gradient += grads.dx[i] != (dropped ? T(0) : dy[i] * keep_scale);
  }
  CHECK(wrong_value == 0);
  CHECK(wrong_gradient == 0);
  // Binomial(8192, 0.3): standard deviation 0.0051 in the fraction; 5 of them.
  const double fraction = double(zeros) / double(count);
  CHECK(std::abs(fraction - 0.3) < 0.0255);

  SUBCASE("the same seed draws the same mask, on any number of threads") {
    stt::Runner<T> again(ops, batch, 2, true, 42);
    CHECK(again.forward(x) == y);
  }
  SUBCASE("another seed draws another mask") {
    stt::Runner<T> other(ops, batch, 1, true, 43);
    CHECK(other.forward(x) != y);
  }
  SUBCASE("evaluation mode passes values and gradients through") {
    stt::Runner<T> eval(ops, batch, 1, /*training=*/false, 42);
    const auto y_eval = eval.forward(x);
    CHECK(y_eval == x);
    CHECK(eval.backward(x, y_eval, dy).dx == dy);
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy
// ---------------------------------------------------------------------------------------------

namespace {

std::vector<std::int32_t> labels_of(const stt::GoldenTensor& t) {
  std::vector<std::int32_t> labels;
  for (double v : t.values) labels.push_back(static_cast<std::int32_t>(v));
  return labels;
}

template <class T>
void check_cross_entropy_golden(const char* case_name, stt::Tolerance tol) {
  INFO("golden case " << case_name
                      << std::string(sizeof(T) == sizeof(float) ? ", float" : ", double"));
  const stt::Golden g = stt::load_golden(case_name);
  const stt::GoldenTensor& logits = g.tensor("x");
  REQUIRE(logits.shape.size() == 2);
  const std::size_t batch = logits.shape[0], classes = logits.shape[1];
  const auto labels = labels_of(g.tensor("labels"));
  const auto x = stt::narrow<T>(logits.values);
  std::vector<T> grad(x.size(), std::numeric_limits<T>::quiet_NaN());
  const double loss = st::softmax_cross_entropy(x.data(), batch, classes, labels,
                                                g.scalar("label_smoothing"), grad.data());
  STRATA_CHECK_CLOSE("loss vs PyTorch", std::vector<double>{loss},
                     std::vector<double>{g.scalar("loss")}, tol);
  STRATA_CHECK_CLOSE("dx vs PyTorch", stt::widen(grad), g.tensor("dx").values, tol);
}

}  // namespace

TEST_CASE("cross_entropy: golden values") {
  for (const char* name : {"cross_entropy", "cross_entropy_smooth"}) {
    check_cross_entropy_golden<double>(name, {1e-12, 1e-14});
    check_cross_entropy_golden<float>(name, {1e-5, 1e-6});
  }
}

TEST_CASE("cross_entropy: gradient vs finite differences") {
  constexpr std::size_t batch = 6, classes = 7;
  st::Rng rng(11);
  std::vector<double> logits = stt::uniform_values(batch * classes, rng);
  for (double& v : logits) v *= 4;  // spread the probabilities
  std::vector<std::int32_t> labels;
  std::uniform_int_distribution<std::int32_t> pick(0, classes - 1);
  for (std::size_t n = 0; n < batch; ++n) labels.push_back(pick(rng));

  for (double smoothing : {0.0, 0.2, 1.0}) {
    CAPTURE(smoothing);
    std::vector<double> grad(logits.size()), scratch(logits.size());
    const auto loss = [&](const std::vector<double>& z) {
      return st::softmax_cross_entropy(z.data(), batch, classes, labels, smoothing, scratch.data());
    };
    st::softmax_cross_entropy(logits.data(), batch, classes, labels, smoothing, grad.data());
    std::vector<double> numeric;
    const double eps = 1e-6;
    for (std::size_t i = 0; i < logits.size(); ++i) {
      std::vector<double> z = logits;
      z[i] += eps;
      const double plus = loss(z);
      z[i] -= 2 * eps;
      numeric.push_back((plus - loss(z)) / (2 * eps));
    }
    STRATA_CHECK_CLOSE("d loss / d logits", grad, numeric, (stt::Tolerance{1e-6, 1e-9}));
    // Softmax minus a distribution: every row sums to zero.
    for (std::size_t n = 0; n < batch; ++n) {
      double row = 0;
      for (std::size_t k = 0; k < classes; ++k) row += grad[n * classes + k];
      CHECK(std::abs(row) < 1e-15);
    }
  }
}

TEST_CASE("cross_entropy: extreme logits stay finite") {
  const std::vector<float> logits{1000.f, 0.f, -1000.f, -1000.f, 0.f, 1000.f};
  const std::vector<std::int32_t> labels{0, 0};
  std::vector<float> grad(logits.size());
  const double loss = st::softmax_cross_entropy(logits.data(), 2, 3, labels, 0.0, grad.data());
  // Sample 0 is certain and right (0), sample 1 certain and wrong by 2000: mean 1000.
  CHECK(loss == doctest::Approx(1000.0));
  for (float g : grad) CHECK(std::isfinite(g));
  CHECK(grad[3] == doctest::Approx(-0.5));
  CHECK(grad[5] == doctest::Approx(0.5));
}

TEST_CASE("cross_entropy: the Output wrapper fills the output's gradient") {
  const std::vector<float> logits{0.5f, -1.f, 2.f, 0.f, 0.f, 0.f};
  const std::vector<std::int32_t> labels{2, 1};
  std::vector<float> grad(6), direct(6);
  const st::Output<Shape<3>, float> out{logits.data(), grad.data(), 2};
  const st::Loss loss = st::cross_entropy(out, labels);
  CHECK(loss.gradient == grad.data());
  CHECK(loss.value == st::softmax_cross_entropy(logits.data(), 2, 3, labels, 0.0, direct.data()));
  CHECK(grad == direct);
}

TEST_CASE("cross_entropy: bad labels and options are errors") {
  const std::vector<float> logits(2 * 5, 0.f);
  std::vector<float> grad(logits.size());
  const auto run = [&](std::vector<std::int32_t> labels, double smoothing = 0.0) {
    return st::softmax_cross_entropy(logits.data(), 2, 5, labels, smoothing, grad.data());
  };
  CHECK_NOTHROW(run({0, 4}));
  CHECK_THROWS_WITH_AS(run({0, 5}), doctest::Contains("label 5 of sample 1"), std::out_of_range);
  CHECK_THROWS_WITH_AS(run({-1, 0}), doctest::Contains("label -1 of sample 0"), std::out_of_range);
  CHECK_THROWS_WITH_AS(run({0}), doctest::Contains("1 labels for a batch of 2"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(run({0, 1, 2}), doctest::Contains("3 labels"), std::invalid_argument);
  CHECK_THROWS_AS(run({0, 1}, -0.1), std::invalid_argument);
  CHECK_THROWS_AS(run({0, 1}, 1.5), std::invalid_argument);
  CHECK_THROWS_AS(run({0, 1}, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}
