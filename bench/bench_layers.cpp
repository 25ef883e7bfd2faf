// Single layers at the shapes of docs/PERFORMANCE.md's table (issue 4): forward ("fwd") and
// forward + backward ("fwdbwd"), with GFLOP/s, the fraction of the machine's measured FMA peak
// for the threads in use, and activation bytes/s. bench/pytorch_suite.py times the same layers
// in PyTorch; bench/compare_pytorch runs both and prints the ratios.
#include <benchmark/benchmark.h>

#include <cstdio>

#include <strata/backend/cpu/machine.hpp>
#include <strata/bench/register_layers.hpp>
#include <strata/blocks/inception.hpp>
#include <strata/blocks/squeeze_excite.hpp>
#include <strata/strata.hpp>

namespace st = strata;
using st::Input;

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const std::size_t threads = st::backend::cpu::max_threads();
  const double peak = st::backend::cpu::peak_gflops(threads);
  std::fprintf(stderr, "machine peak: %.1f GFLOP/s fp32 FMA with %zu threads\n", peak, threads);
  benchmark::AddCustomContext("peak_gflops", std::to_string(peak));

  using namespace st;
  bench::register_layer<Conv2d<64, 3, Pad<1>, NoBias>, Shape<64, 56, 56>>("conv3x3_64_56", 8, peak);
  bench::register_layer<Conv2d<64, 1, NoBias>, Shape<256, 56, 56>>("conv1x1_256to64_56", 8, peak);
  bench::register_layer<Conv2d<256, 3, Stride<2>, Pad<1>, NoBias>, Shape<128, 28, 28>>(
      "conv3x3s2_128to256_28", 8, peak);
  bench::register_layer<Conv2d<144, 3, Pad<1>, Groups<144>, NoBias>, Shape<144, 56, 56>>(
      "depthwise3x3_144_56", 8, peak);
  bench::register_layer<MaxPool2d<2>, Shape<32, 28, 28>>("maxpool2_32_28", 64, peak);
  bench::register_layer<MaxPool2d<3, Stride<2>, Pad<1>>, Shape<64, 112, 112>>("maxpool3s2_64_112",
                                                                              8, peak);
  bench::register_layer<BatchNorm2d<>, Shape<64, 56, 56>>("batchnorm_64_56", 8, peak);
  bench::register_layer<Linear<1000>, Shape<2048>>("linear_2048to1000", 16, peak);
  bench::register_layer<SqueezeExciteTo<16>, Shape<256, 14, 14>>("squeeze_excite_256_14", 8, peak);
  bench::register_layer<InceptionV1<64, 96, 128, 16, 32, 32>, Shape<192, 28, 28>>(
      "inception3a_concat_192_28", 8, peak);

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
