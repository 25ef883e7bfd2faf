// Layers added for the classic zoo models (AlexNet, VGG) through the conformance harness
// (tests/support/conformance.hpp).
#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

#include "conformance.hpp"
#include "golden.hpp"
#include "strata/layers/pooling.hpp"

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

}  // namespace

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
