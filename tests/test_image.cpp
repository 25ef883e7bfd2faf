// strata/image: torchvision's ImageNet preprocessing, PIL's bicubic resize and EfficientNet-Lite's
// preprocessing against PIL and torchvision (golden files from tests/image/make_image_golden.py), a
// classifier's top-5 on the preprocessed photo and its softmax averaged over ten crops against
// PyTorch, JPEG and PNG decoding against PIL and the files a photo folder holds that must be
// refused (tests/image/make_messy_images.py), PNG writing, and the pictures' layout.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <strata/data/image_folder.hpp>
#include <strata/image/io.hpp>
#include <strata/image/preprocess.hpp>
#include <strata/image/visualize.hpp>
#include <strata/io/safetensors.hpp>
#include <strata/models/efficientnet_lite.hpp>
#include <strata/strata.hpp>

#include "read_floats.hpp"
#include "temp_dir.hpp"

namespace st = strata;
namespace img = strata::image;

namespace {

const std::filesystem::path golden = STRATA_IMAGE_GOLDEN_DIR;
const std::filesystem::path messy = STRATA_IMAGE_MESSY_DIR;

// A binary PPM as make_messy_images.py writes it: "P6\n<w> <h>\n255\n" and the RGB bytes.
img::Image read_ppm(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string magic;
  std::size_t width = 0, height = 0, maximum = 0;
  in >> magic >> width >> height >> maximum;
  in.get();
  REQUIRE((in && magic == "P6" && maximum == 255));
  img::Image out(width, height, 3);
  in.read(reinterpret_cast<char*>(out.pixels.data()), std::streamsize(out.pixels.size()));
  REQUIRE(in);
  return out;
}

void require_same(const img::Image& got, const img::Image& want) {
  REQUIRE(got.width == want.width);
  REQUIRE(got.height == want.height);
  REQUIRE(got.channels == want.channels);
  std::size_t differing = 0;
  for (std::size_t i = 0; i < want.pixels.size(); ++i) differing += got.pixels[i] != want.pixels[i];
  CHECK(differing == 0);
}

// The reduced classifier of make_image_golden.py, named as its nn.Sequential.
using MiniNet = st::Sequential<st::Input<3, 41, 41>,                                            //
                               st::Conv2d<8, 3, st::Stride<2>, st::Pad<1>>, st::BatchNorm2d<>,  //
                               st::ReLU, st::Conv2d<16, 3, st::Stride<2>, st::Pad<1>>,          //
                               st::BatchNorm2d<>, st::ReLU, st::GlobalAvgPool, st::Flatten,     //
                               st::Linear<100>>;

}  // namespace

TEST_CASE("image: Resize equals PIL's antialiased bilinear, shrinking and enlarging") {
  const img::Image photo = img::read_rgb(golden / "photo.png");
  REQUIRE(photo.width == 64);
  REQUIRE(photo.height == 77);
  require_same(img::resize_short_side(photo, 48), img::read_rgb(golden / "resized_48.png"));
  const img::Image enlarged = img::resize_short_side(photo, 80);
  require_same(enlarged, img::read_rgb(golden / "resized_80.png"));
  // Offsets 2.5 and 10.5: Python's round takes both down to the even neighbour.
  require_same(img::center_crop(enlarged, 75), img::read_rgb(golden / "crop_80_75.png"));
}

TEST_CASE("image: BICUBIC equals PIL's, shrinking and enlarging") {
  const img::Image photo = img::read_rgb(golden / "photo.png");  // 64x77
  require_same(img::resize(photo, 40, 48, st::Resample::bicubic),
               img::read_rgb(golden / "bicubic_40x48.png"));
  require_same(img::resize(photo, 90, 100, st::Resample::bicubic),
               img::read_rgb(golden / "bicubic_90x100.png"));
}

TEST_CASE("image: EfficientNet-Lite's preprocessing equals the PIL reference's tensor") {
  const auto want = st::test::read_floats(golden / "lite_eval_29.f32");  // [3, 29, 29]
  const auto got =
      img::preprocess(img::read_rgb(golden / "photo.png"), st::models::efficientnet_lite_eval(29));
  REQUIRE(got.size() == want.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < want.size(); ++i) differing += got[i] != want[i];
  CHECK(differing == 0);
}

TEST_CASE("image: uncropped keeps a model's filter and normalisation and crops only to square") {
  const img::Image photo = img::read_rgb(golden / "photo.png");
  const st::EvalPreprocessing lite = st::models::efficientnet_lite_eval(29);
  const auto got = img::preprocess(photo, st::uncropped(lite));  // [3, 29, 29]
  const auto want = img::to_normalized_chw(
      img::center_crop(img::resize_short_side(photo, 29, st::Resample::bicubic), 29), lite.divisor,
      lite.mean, lite.std);
  CHECK(got == want);
  const img::Image square = img::resize(photo, 40, 40, st::Resample::bilinear);
  CHECK(img::preprocess(square, st::uncropped(lite)) ==
        img::to_normalized_chw(img::resize(square, 29, 29, st::Resample::bicubic), lite.divisor,
                               lite.mean, lite.std));
}

TEST_CASE("image: Resize + CenterCrop + ToTensor + Normalize equal torchvision's tensor") {
  const auto want = st::test::read_floats(golden / "tensor_48_41.f32");  // [3, 41, 41]
  const auto got = img::imagenet_preprocess(img::read_rgb(golden / "photo.png"), 48, 41);
  REQUIRE(got.size() == want.size());
  float worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  // The same float32 operations in the same order as torch: equal, not merely close.
  CHECK(worst == 0.0f);
}

TEST_CASE("image: a classifier's top 5 on the preprocessed photo equal PyTorch's") {
  st::Model<MiniNet> model;
  st::load_safetensors(golden / "mini_net.safetensors", model);
  model.eval();
  const auto input = img::imagenet_preprocess(img::read_rgb(golden / "photo.png"), 48, 41);
  const auto logits = model.forward(input).sample(0);  // [100]
  std::ifstream want_file(golden / "mini_net_top5.txt");
  std::vector<std::size_t> want_index;
  std::vector<double> want_logit, want_probability;
  std::size_t index = 0;
  double l = 0, p = 0;
  while (want_file >> index >> l >> p) {
    want_index.push_back(index);
    want_logit.push_back(l);
    want_probability.push_back(p);
  }
  REQUIRE(want_index.size() == 5);
  const double scale =
      std::abs(*std::max_element(want_logit.begin(), want_logit.end(),
                                 [](double a, double b) { return std::abs(a) < std::abs(b); }));
  const auto top = st::top_k(logits, 5);
  const auto probabilities = st::softmax(logits);
  for (std::size_t k = 0; k < 5; ++k) {
    CAPTURE(k);
    CHECK(top[k] == want_index[k]);
    CHECK(std::abs(logits[top[k]] - want_logit[k]) <= 1e-4 * scale);
    CHECK(std::abs(probabilities[top[k]] - want_probability[k]) <= 1e-4 * want_probability[k]);
  }
}

TEST_CASE("image: a classifier's softmax averaged over ten crops equals PyTorch's") {
  st::Model<MiniNet> model;
  st::load_safetensors(golden / "mini_net.safetensors", model);
  model.eval();
  std::vector<float> crops(10 * 3 * 41 * 41);  // [10, 3, 41, 41]
  std::mt19937_64 rng(0);
  st::data::ten_crop_transform(st::torchvision_imagenet_eval(48, 41))(
      img::read_rgb(golden / "photo.png"), rng, crops);
  const std::vector<double> probabilities = st::ten_crop_probabilities(model, crops);  // [1, 100]
  REQUIRE(probabilities.size() == 100);
  std::ifstream want_file(golden / "mini_net_ten_crop.txt");
  std::size_t index = 0, rank = 0;
  double p = 0;
  std::vector<float> as_float(probabilities.begin(), probabilities.end());
  const auto top = st::top_k(as_float, 5);
  while (want_file >> index >> p) {
    CAPTURE(rank);
    CHECK(top[rank] == index);
    // float32 logits against PyTorch's float64, as the single-crop test.
    CHECK(std::abs(probabilities[index] - p) <= 1e-4 * p);
    ++rank;
  }
  CHECK(rank == 5);
  // mean_softmax averages each group's rows: two rows of two classes, then one group of both.
  const std::vector<float> logits = {0, 0, std::log(3.0f), 0};  // [2, 2]
  const auto mean = st::mean_softmax(logits, 2, 2);
  REQUIRE(mean.size() == 2);
  CHECK(mean[0] == doctest::Approx((0.5 + 0.75) / 2));
  CHECK(mean[1] == doctest::Approx((0.5 + 0.25) / 2));
  CHECK_THROWS_AS(st::mean_softmax(logits, 2, 3), std::invalid_argument);
}

TEST_CASE("image: PNG written and read back is the same image; failures name the file") {
  const st::test::TempDir dir;
  img::Image picture = img::canvas(7, 5, {10, 20, 30});
  img::fill_rect(picture, 2, 1, 3, 10, {200, 100, 0});  // clipped at the bottom edge
  img::write_png(dir / "a.png", picture);
  require_same(img::read_rgb(dir / "a.png"), picture);
  CHECK(picture.at(4, 4, 0) == 200);
  CHECK(picture.at(0, 2, 0) == 10);
  // Grey and RGBA come back as RGB: grey replicated, alpha dropped.
  img::Image grey(2, 1, 1), rgba(1, 1, 4);
  grey.pixels = {7, 200};
  rgba.pixels = {1, 2, 3, 0};
  img::write_png(dir / "grey.png", grey);
  img::write_png(dir / "rgba.png", rgba);
  CHECK(img::read_rgb(dir / "grey.png").pixels ==
        std::vector<std::uint8_t>{7, 7, 7, 200, 200, 200});
  CHECK(img::read_rgb(dir / "rgba.png").pixels == std::vector<std::uint8_t>{1, 2, 3});
  CHECK_THROWS_WITH_AS(img::read_rgb(dir / "missing.png"),
                       doctest::Contains("missing.png' cannot be read"), img::ImageError);
  CHECK_THROWS_WITH_AS(img::write_png(dir / "no_dir" / "b.png", picture),
                       doctest::Contains("b.png' cannot be written"), img::ImageError);
}

TEST_CASE("image: text is drawn with the 5x7 font, 6 pixels a character") {
  img::Image text = img::canvas(14, 9);
  img::draw_text(text, 1, 1, "I-", {0, 0, 0});
  CHECK(img::text_width("I-") == 12);
  // 'I' is a vertical bar in its middle column over the 7 rows; '-' a bar on row 3.
  for (std::size_t row = 0; row < 7; ++row) CHECK(text.at(1 + row, 1 + 2, 0) == 0);
  CHECK(text.at(1 + 7, 1 + 2, 0) == 255);
  for (std::size_t col = 0; col < 5; ++col) CHECK(text.at(1 + 3, 7 + col, 0) == 0);
  CHECK(text.at(1 + 2, 7, 0) == 255);
}

TEST_CASE("image: tiles are laid out in a near-square grid, each normalised on its own") {
  std::vector<float> planes(5 * 2 * 3, 4.0f);  // [5, 1, 2, 3]: constant tiles ...
  for (std::size_t i = 0; i < 6; ++i) planes[i] = float(i) * 10 - 7;  // ... but the first
  const img::Image grid = img::tile(planes, 5, 1, 2, 3, {.scale = 2, .gap = 1});
  // 3 columns and 2 rows of 6x4-pixel tiles with 1-pixel gaps.
  CHECK(grid.width == 3 * (6 + 1) + 1);
  CHECK(grid.height == 2 * (4 + 1) + 1);
  CHECK(grid.at(1, 1, 0) == 0);    // the first tile's minimum, top left
  CHECK(grid.at(4, 6, 0) == 255);  // its maximum, bottom right
  CHECK(grid.at(2, 3, 1) == 51);   // 10 of 50 above the minimum
  CHECK(grid.at(1, 8, 0) == 128);  // a constant tile is mid-grey
  CHECK(grid.at(0, 0, 0) == 255);  // the gap keeps the background
  CHECK_THROWS_WITH(img::tile(planes, 6, 1, 2, 3), doctest::Contains("30 values for 6 tiles"));
}

TEST_CASE("image: feature maps, filters and predictions of a model") {
  using Net = st::Sequential<st::Input<1, 4, 4>, st::Conv2d<3, 3, st::Pad<1>>, st::ReLU,
                             st::Flatten, st::Linear<2>>;
  st::Model<Net> model{st::seed{3}};
  std::vector<float> input(2 * 16);  // [2, 1, 4, 4]
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = std::sin(float(i));
  const auto logits = model.forward(input);  // [2, 2]

  const img::Image maps = img::feature_maps(model, 0, 1, {.columns = 3, .scale = 1, .gap = 1});
  CHECK(maps.width == 3 * 5 + 1);
  CHECK(maps.height == 4 + 2);
  // Sample 1's first channel, normalised: its minimum is black wherever it lies.
  const auto first = model.activation<0>().subspan(3 * 16, 16);  // [4, 4]
  const auto lowest = std::min_element(first.begin(), first.end()) - first.begin();
  CHECK(maps.at(1 + std::size_t(lowest) / 4, 1 + std::size_t(lowest) % 4, 0) == 0);
  CHECK_THROWS_WITH(img::feature_maps(model, 2), doctest::Contains("layer 2's output is 48,"));
  CHECK_THROWS_WITH(img::feature_maps(model, 4), doctest::Contains("layer 4 is out of range"));
  CHECK_THROWS_WITH(img::feature_maps(model, 0, 2), doctest::Contains("sample 2"));

  const img::Image kernels = img::filters(model.parameters()[0], {.scale = 2, .gap = 1});
  CHECK(kernels.width == 2 * (6 + 1) + 1);  // 3 filters of 3x3 in a 2x2 grid
  CHECK(kernels.height == 2 * (6 + 1) + 1);
  CHECK_THROWS_WITH(img::filters(model.parameters()[1]), doctest::Contains("'0.bias'"));

  // Sample 0 labelled with its prediction, sample 1 with the other class: only that is red.
  const std::int32_t predicted = std::int32_t(st::top_k(logits.sample(0), 1)[0]);
  const std::int32_t wrong = 1 - std::int32_t(st::top_k(logits.sample(1), 1)[0]);
  const std::vector<std::int32_t> labels{predicted, wrong};
  const std::vector<std::string_view> names{"zero", "one"};
  const img::Image grid = img::predictions(input, 2, 1, 4, 4, labels, logits.values(), names,
                                           {.columns = 2, .scale = 1, .gap = 1});
  const auto red_pixels = [&](std::size_t x0, std::size_t x1) {
    std::size_t n = 0;
    for (std::size_t y = 0; y < grid.height; ++y)
      for (std::size_t x = x0; x < x1; ++x)
        n += grid.at(y, x, 0) == 220 && grid.at(y, x, 1) == 0 && grid.at(y, x, 2) == 0;
    return n;
  };
  const std::size_t cell = (grid.width - 1) / 2;
  CHECK(red_pixels(0, cell) == 0);
  CHECK(red_pixels(cell, grid.width) > 0);
}

TEST_CASE("image: JPEG and PNG variants decode to PIL's convert(\"RGB\") bit for bit") {
  // png_grey16's reference is the high byte, not PIL's (which clips the 16-bit values to 255).
  for (const char* name :
       {"jpeg_420.jpg", "jpeg_444.jpg", "jpeg_progressive.jpg", "jpeg_grey.jpg", "jpeg_cmyk.jpg",
        "jpeg_exif_rotated.jpg", "png_grey.png", "png_grey_alpha.png", "png_rgb.png",
        "png_rgba.png", "png_palette.png", "png_palette_trns.png", "png_rgb16.png",
        "png_grey16.png", "no_iend.png"}) {
    CAPTURE(name);
    const img::Image got = img::read_rgb(messy / name);
    require_same(got, read_ppm((messy / name).replace_extension(".ppm")));
  }
}

TEST_CASE("image: a JPEG drafted to a size equals PIL's draft(\"RGB\", size)") {
  struct Draft {
    const char* name;
    std::size_t width, height, scaled_width;
  };
  // 37x29: scale 1/8 for (4, 3), 1/4 for (9, 7), 1/2 for (12, 9) (37 / 12 = 3 rounds down to 2).
  for (const Draft& d :
       {Draft{"jpeg_420", 4, 3, 5}, Draft{"jpeg_420", 9, 7, 10}, Draft{"jpeg_420", 12, 9, 19},
        Draft{"jpeg_444", 9, 7, 10}, Draft{"jpeg_progressive", 9, 7, 10},
        Draft{"jpeg_grey", 12, 9, 19}, Draft{"jpeg_cmyk", 9, 7, 10}}) {
    CAPTURE(d.name);
    CAPTURE(d.width);
    const img::Image got = img::read_rgb(messy / (std::string(d.name) + ".jpg"),
                                         {.draft_width = d.width, .draft_height = d.height});
    CHECK(got.width == d.scaled_width);
    require_same(got,
                 read_ppm(messy / ("draft_" + std::string(d.name) + "_" + std::to_string(d.width) +
                                   "x" + std::to_string(d.height) + ".ppm")));
  }
  // PNG has no scaled decoding, as in PIL.
  CHECK(img::read_rgb(messy / "png_rgb.png", {.draft_width = 4, .draft_height = 3}).width == 37);
}

TEST_CASE("image: truncated, unknown, empty or oversized files are refused, naming the file") {
  const auto refused = [](const char* name, const std::string& why,
                          const img::ReadOptions& options = {}) {
    CAPTURE(name);
    const std::string message = std::string(name) + "' cannot be read: " + why;
    CHECK_THROWS_WITH_AS(img::read_rgb(messy / name, options), doctest::Contains(message.c_str()),
                         img::ImageError);
  };
  refused("truncated.jpg", "it is truncated");
  refused("truncated.png", "it is truncated");
  refused("no_eoi.jpg", "it is truncated");  // as PIL, though every pixel is there
  refused("notes.jpg", "it is not an image strata knows; strata reads JPEG and PNG only");
  refused("tiny.gif", "it is a GIF file; strata reads JPEG and PNG only");
  refused("tiny.bmp", "it is a BMP file; strata reads JPEG and PNG only");
  // Refused from the header: decoding them would allocate 10.8 and 30 GB.
  refused("huge.jpg", "it is 60000x60000, more than the limit of 89478485 pixels");
  refused("huge.png", "it is 100000x100000, more than the limit of 89478485 pixels");
  refused("jpeg_420.jpg", "it is 37x29, more than the limit of 1000 pixels", {.max_pixels = 1000});
  refused("zero_height.jpg", "its JPEG data is invalid: Empty JPEG image");
  refused("zero_width.png", "its PNG data is invalid: Invalid IHDR data");
}

TEST_CASE("image: a read from memory is the read from a file") {
  const st::test::TempDir dir;
  const img::Image picture = img::canvas(3, 2, {1, 2, 3});
  img::write_png(dir / "a.png", picture);
  std::ifstream in(dir / "a.png", std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                        std::istreambuf_iterator<char>()};
  require_same(img::read_rgb_from_memory(bytes), picture);
  CHECK_THROWS_WITH_AS(img::read_rgb_from_memory(std::vector<std::uint8_t>{1, 2, 3}, "upload"),
                       doctest::Contains("image file 'upload' cannot be read"), img::ImageError);
}

TEST_CASE("image: preprocessing refuses empty images and extreme aspect ratios in words") {
  CHECK_THROWS_WITH_AS(img::imagenet_preprocess(img::Image(7, 0, 3)),
                       "resize_short_side: sizes must be positive, got 7x0 -> short side 256",
                       std::invalid_argument);
  // A 1 x 100000 image would be resized to 256 x 25600000, 19.7 GB of RGB.
  CHECK_THROWS_WITH_AS(img::imagenet_preprocess(img::Image(1, 100000, 3)),
                       "resize_short_side: a 256x25600000 image would exceed the limit of "
                       "89478485 pixels",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(img::resize(img::Image(10, 10, 3), 100000, 100000, st::Resample::bilinear),
                       "resize: a 100000x100000 image would exceed the limit of 89478485 pixels",
                       std::invalid_argument);
  // The horizontal pass's result (100000 x 1000) is refused too, though the final image is small.
  CHECK_THROWS_WITH_AS(img::resize(img::Image(10, 1000, 3), 100000, 1, st::Resample::bilinear),
                       doctest::Contains("100000x1000 image"), std::invalid_argument);
}
