// Layers added for the classic zoo models (AlexNet, VGG) through the conformance harness
// (tests/support/conformance.hpp).
#include <doctest/doctest.h>

#include <cstddef>
#include <type_traits>
#include <vector>

#include "conformance.hpp"
#include "golden.hpp"
#include "strata/layers/pooling.hpp"
#include "strata/layers/zero_pad.hpp"

namespace st = strata;
namespace stt = strata::test;
namespace ref = strata::test::ref;
using st::Shape;

namespace {

// nn.AdaptiveAvgPool2d((out_h, out_w)) written from PyTorch's definition, sharing no code with
// the library: output i along an axis of n inputs averages [floor(i*n/out), ceil((i+1)*n/out)).
ref::Reference adaptive_avg_pool(std::size_t out_h, std::size_t out_w) {
  auto forward = [out_h, out_w](const stt::Dims& in, std::size_t batch, const double* x,
                                const double*) {
    const std::size_t h = in[1], w = in[2];
    std::vector<double> y(batch * in[0] * out_h * out_w);
    for (std::size_t plane = 0; plane < batch * in[0]; ++plane)
      for (std::size_t oh = 0; oh < out_h; ++oh)
        for (std::size_t ow = 0; ow < out_w; ++ow) {
          const std::size_t h0 = oh * h / out_h, h1 = ((oh + 1) * h + out_h - 1) / out_h;
          const std::size_t w0 = ow * w / out_w, w1 = ((ow + 1) * w + out_w - 1) / out_w;
          double sum = 0;
          for (std::size_t ih = h0; ih < h1; ++ih)
            for (std::size_t iw = w0; iw < w1; ++iw) sum += x[(plane * h + ih) * w + iw];
          y[(plane * out_h + oh) * out_w + ow] = sum / double((h1 - h0) * (w1 - w0));
        }
    return y;
  };
  return {"adaptive_avg_pool",
          [out_h, out_w](const stt::Dims& in) {
            return stt::Dims{in[0], out_h, out_w};
          },
          [](const stt::Dims&) { return std::size_t{0}; }, forward};
}

// The reference's output size comes from the golden file, so that it states PyTorch's layer.
ref::Reference adaptive_reference(const char* case_name) {
  const stt::Golden g = stt::load_golden(case_name);
  return adaptive_avg_pool(static_cast<std::size_t>(g.scalar("output_h")),
                           static_cast<std::size_t>(g.scalar("output_w")));
}

// nn.ZeroPad2d((left, right, top, bottom)) from its definition: out[r, c] = x[r - top, c - left]
// inside the input's rectangle, else 0. The sizes come from the golden file.
ref::Reference zero_pad_reference(const char* case_name) {
  const stt::Golden g = stt::load_golden(case_name);
  const auto side = [&](const char* name) { return static_cast<std::size_t>(g.scalar(name)); };
  const std::size_t left = side("left"), right = side("right"), top = side("top"),
                    bottom = side("bottom");
  auto out_dims = [=](const stt::Dims& in) {
    return stt::Dims{in[0], top + in[1] + bottom, left + in[2] + right};
  };
  auto forward = [=](const stt::Dims& in, std::size_t batch, const double* x, const double*) {
    const stt::Dims out = out_dims(in);
    std::vector<double> y(batch * in[0] * out[1] * out[2], 0.0);
    for (std::size_t plane = 0; plane < batch * in[0]; ++plane)
      for (std::size_t r = 0; r < in[1]; ++r)
        for (std::size_t c = 0; c < in[2]; ++c)
          y[(plane * out[1] + r + top) * out[2] + c + left] = x[(plane * in[1] + r) * in[2] + c];
    return y;
  };
  return {"zero_pad", out_dims, [](const stt::Dims&) { return std::size_t{0}; }, forward};
}

}  // namespace

TEST_CASE("zero_pad: TensorFlow's same padding of a stride-2 layer (one more right and below)") {
  using B = st::ZeroPad2d<0, 1, 0, 1>::bind<Shape<3, 4, 6>>;
  static_assert(std::is_same_v<B::output_shape, Shape<3, 5, 7>>);
  CHECK(B::describe() == "ZeroPad2d((0, 1, 0, 1))");
  stt::check_golden<B>("zero_pad_same_stride2");
  stt::check_layer<B>({{3, 5, 7}, 0, 0}, zero_pad_reference("zero_pad_same_stride2"));
}

TEST_CASE("zero_pad: every side different, one of them zero, in PyTorch's order") {
  using B = st::ZeroPad2d<1, 2, 3, 0>::bind<Shape<2, 3, 5>>;
  static_assert(std::is_same_v<B::output_shape, Shape<2, 6, 8>>);
  static_assert(
      std::is_same_v<st::ZeroPad2d<2>::bind<Shape<1, 3, 3>>::output_shape, Shape<1, 7, 7>>);
  stt::check_golden<B>("zero_pad_asymmetric");
  stt::check_layer<B>({{2, 6, 8}, 0, 0}, zero_pad_reference("zero_pad_asymmetric"));
}

TEST_CASE("adaptive_avgpool: overlapping windows (7x5 -> 3x2)") {
  using B = st::AdaptiveAvgPool2d<3, 2>::bind<Shape<3, 7, 5>>;
  stt::check_golden<B>("adaptive_avgpool");
  stt::check_layer<B>({{3, 3, 2}, 0, 0}, adaptive_reference("adaptive_avgpool"));
}

TEST_CASE("adaptive_avgpool: output equal to the input is the identity") {
  using B = st::AdaptiveAvgPool2d<4, 5>::bind<Shape<3, 4, 5>>;
  stt::check_golden<B>("adaptive_avgpool_same");
  stt::check_layer<B>({{3, 4, 5}, 0, 0}, adaptive_reference("adaptive_avgpool_same"));
}

// No golden file for these: the naive reference and the gradient check cover them.
TEST_CASE("adaptive_avgpool: output larger than the input replicates (VGG on 32x32)") {
  using B = st::AdaptiveAvgPool2d<7>::bind<Shape<2, 1, 1>>;
  stt::check_layer<B>({{2, 7, 7}, 0, 0}, adaptive_avg_pool(7, 7));
  using C = st::AdaptiveAvgPool2d<4, 6>::bind<Shape<2, 3, 5>>;
  stt::check_layer<C>({{2, 4, 6}, 0, 0}, adaptive_avg_pool(4, 6));
}

TEST_CASE("adaptive_avgpool: divisible sizes equal AvgPool2d, size 1 equals GlobalAvgPool") {
  using B = st::AdaptiveAvgPool2d<3>::bind<Shape<2, 6, 9>>;
  stt::check_layer<B>({{2, 3, 3}, 0, 0},
                      ref::avg_pool({.kh = 2, .kw = 3, .sh = 2, .sw = 3, .ph = 0, .pw = 0}));
  using C = st::AdaptiveAvgPool2d<1>::bind<Shape<3, 5, 4>>;
  stt::check_layer<C>({{3, 1, 1}, 0, 0}, ref::global_avg_pool());
}
