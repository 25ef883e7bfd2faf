// The hand-designed filters that preceded learned ones (the seed report's Sobel x/y, Gaussian
// blur, sharpen, edge detection and emboss), run as one st::Conv2d whose weights are set by
// hand, on the grey version of an image; writes the input and the six outputs as one PNG grid.
//
//   classic_filters IMAGE OUT.png
//
// The image is resized (short side 256, PIL's bilinear) and centre-cropped to 256x256, since a
// network's input size is part of its type. Conv2d computes a cross-correlation, as PyTorch's and
// OpenCV's filter2D, so the kernels below are applied as written.
#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <strata/image/io.hpp>
#include <strata/image/preprocess.hpp>
#include <strata/strata.hpp>

namespace st = strata;
namespace img = strata::image;

constexpr std::size_t side = 256;
using Filters = st::Sequential<st::Input<1, side, side>, st::Conv2d<6, 3, st::Pad<1>, st::NoBias>>;

struct Kernel {
  const char* name;
  std::array<float, 9> weights;
};

// OpenCV's getGaussianKernel(3, 1): exp(-x^2 / 2) at -1, 0, 1, normalised; the 2-D kernel is
// its outer product.
std::array<float, 9> gaussian3() {
  const double e = std::exp(-0.5), total = 1 + 2 * e;
  const std::array<double, 3> g{e / total, 1 / total, e / total};
  std::array<float, 9> k{};
  for (std::size_t i = 0; i < 9; ++i) k[i] = static_cast<float>(g[i / 3] * g[i % 3]);
  return k;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: classic_filters IMAGE OUT.png\n";
    return 2;
  }
  const std::vector<Kernel> kernels{
      {"Sobel x", {-1, 0, 1, -2, 0, 2, -1, 0, 1}},
      {"Sobel y", {-1, -2, -1, 0, 0, 0, 1, 2, 1}},
      {"Gaussian blur", gaussian3()},
      {"Sharpen", {0, -1, 0, -1, 5, -1, 0, -1, 0}},
      {"Edge detection", {-1, -1, -1, -1, 8, -1, -1, -1, -1}},
      {"Emboss", {-2, -1, 0, -1, 1, 1, 0, 1, 2}},
  };
  try {
    const img::Image rgb =
        img::center_crop(img::resize_short_side(img::read_rgb(argv[1]), side), side);
    // Grey as PIL's convert("L"): ITU-R 601-2 luma, in [0, 1].
    std::vector<float> grey(side * side);  // [1, 256, 256]
    for (std::size_t i = 0; i < grey.size(); ++i)
      grey[i] = (0.299f * rgb.pixels[3 * i] + 0.587f * rgb.pixels[3 * i + 1] +
                 0.114f * rgb.pixels[3 * i + 2]) /
                255.0f;

    st::Model<Filters> model;
    const std::span<float> weights = model.parameters()[0].values();  // [6, 1, 3, 3]
    for (std::size_t f = 0; f < kernels.size(); ++f)
      std::copy(kernels[f].weights.begin(), kernels[f].weights.end(), weights.begin() + 9 * f);
    model.eval();
    const auto filtered = model.forward(grey).values();  // [6, 256, 256]

    std::vector<float> tiles(grey);  // [7, 256, 256]: the input, then each filter's output
    tiles.insert(tiles.end(), filtered.begin(), filtered.end());
    std::vector<std::vector<img::Caption>> captions{{{"input (grey)"}}};
    for (const Kernel& k : kernels) captions.push_back({{k.name}});
    img::write_png(argv[2], img::tile(tiles, 7, 1, side, side, {.columns = 4, .gap = 6}, captions));
    std::printf("wrote %s\n", argv[2]);
  } catch (const std::exception& error) {
    std::cerr << "classic_filters: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
