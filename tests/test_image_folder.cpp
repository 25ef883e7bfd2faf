// strata/data/image_folder.hpp and strata/image/transforms.hpp: a messy folder written here (hidden
// files and folders, other files, a nested folder, an empty class, a greyscale PNG, a truncated
// PNG, a text file named .png), each with its defined outcome; the loader's batches against
// direct decoding, the same for any number of workers; the seeded split; and the transforms'
// deterministic parts against torchvision and numpy (tests/image/make_image_golden.py): a crop's
// resampling, ColorJitter for fixed draws, PCA lighting for fixed alphas, the components against
// numpy's eigh, TenCrop; and the draws' rules.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <strata/data/image_folder.hpp>
#include <strata/image/io.hpp>
#include <strata/image/transforms.hpp>

#include "read_floats.hpp"
#include "temp_dir.hpp"

namespace st = strata;
namespace img = strata::image;
namespace fs = std::filesystem;

namespace {

const fs::path golden = STRATA_IMAGE_GOLDEN_DIR;

img::Image pattern(std::size_t w, std::size_t h, std::size_t channels, std::uint8_t seed) {
  img::Image out(w, h, channels);
  for (std::size_t i = 0; i < out.pixels.size(); ++i)
    out.pixels[i] = static_cast<std::uint8_t>(seed * 37 + i * 11);
  return out;
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

void write_image(const fs::path& path, const img::Image& image) {
  fs::create_directories(path.parent_path());
  img::write_png(path, image);
}

// root/a_dog: 1.png (RGB), 2.PNG (grey), .DS_Store, notes.txt; root/b_cat: x.png, sub/y.png,
// .hidden/z.png; root/.cache/w.png; root/readme.txt.
void write_messy_folder(const fs::path& root) {
  write_image(root / "a_dog" / "1.png", pattern(9, 7, 3, 1));
  write_image(root / "a_dog" / "2.PNG", pattern(8, 8, 1, 2));
  write_text(root / "a_dog" / ".DS_Store", "finder");
  write_text(root / "a_dog" / "notes.txt", "not an image");
  write_image(root / "b_cat" / "x.png", pattern(6, 10, 3, 3));
  write_image(root / "b_cat" / "sub" / "y.png", pattern(12, 5, 3, 4));
  write_image(root / "b_cat" / ".hidden" / "z.png", pattern(4, 4, 3, 5));
  write_image(root / ".cache" / "w.png", pattern(4, 4, 3, 6));
  write_text(root / "readme.txt", "files beside the classes are not samples");
}

std::set<std::string> skipped_names(const std::vector<st::data::SkippedFile>& skipped) {
  std::set<std::string> out;
  for (const auto& s : skipped) out.insert(s.path.filename().string());
  return out;
}

// Copies every batch of one epoch: (sample indices, images, labels).
struct Epoch {
  std::vector<std::size_t> samples;
  std::vector<float> images;
  std::vector<std::int32_t> labels;
};

Epoch read_epoch(st::data::ImageFolderLoader& loader) {
  Epoch e;
  loader.start_epoch();
  while (const st::data::ImageBatch* b = loader.next()) {
    e.samples.insert(e.samples.end(), b->samples.begin(), b->samples.end());
    e.images.insert(e.images.end(), b->images.begin(), b->images.end());
    e.labels.insert(e.labels.end(), b->labels.begin(), b->labels.end());
  }
  return e;
}

const st::EvalPreprocessing tiny_eval = st::torchvision_imagenet_eval(6, 5);

}  // namespace

TEST_CASE("image folder: classes sorted, hidden and non-image files skipped and listed") {
  const st::test::TempDir dir;
  write_messy_folder(dir.path());
  const st::data::ImageFolder folder(dir.path());
  CHECK(folder.classes() == std::vector<std::string>{"a_dog", "b_cat"});
  REQUIRE(folder.size() == 4);
  CHECK(folder.samples()[0].path.filename() == "1.png");
  CHECK(folder.samples()[1].path.filename() == "2.PNG");  // extensions are case-insensitive
  CHECK(folder.samples()[2].path.filename() == "y.png");  // b_cat/sub/y.png sorts before x.png
  CHECK(folder.samples()[2].path.parent_path().filename() == "sub");
  CHECK(folder.samples()[3].path.filename() == "x.png");
  CHECK(folder.samples()[0].label == 0);
  CHECK(folder.samples()[3].label == 1);
  CHECK(skipped_names(folder.skipped()) ==
        std::set<std::string>{".DS_Store", "notes.txt", ".hidden", ".cache"});
}

TEST_CASE("image folder: an empty class is an error naming it, or kept when allowed") {
  const st::test::TempDir dir;
  write_messy_folder(dir.path());
  fs::create_directory(dir / "c_empty");
  write_text(dir / "c_empty" / "list.csv", "no images here");
  CHECK_THROWS_WITH_AS(st::data::ImageFolder(dir.path()),
                       doctest::Contains("class folder 'c_empty' holds no image file"),
                       st::data::DataError);
  const st::data::ImageFolder folder(dir.path(), {.allow_empty_classes = true});
  CHECK(folder.classes().size() == 3);
  CHECK(folder.size() == 4);
  CHECK_THROWS_WITH_AS(st::data::ImageFolder(dir / "missing"),
                       doctest::Contains("is not a directory"), st::data::DataError);
}

TEST_CASE("image folder: batches equal the files decoded and preprocessed directly") {
  const st::test::TempDir dir;
  write_messy_folder(dir.path());
  const st::data::ImageFolder folder(dir.path());
  st::data::ImageFolderLoader loader(folder, folder.all(), st::data::eval_transform(tiny_eval),
                                     {.batch = 3, .sample_size = 3 * 5 * 5, .shuffle = false});
  CHECK(loader.batches_per_epoch() == 2);
  const Epoch e = read_epoch(loader);
  REQUIRE(e.samples == std::vector<std::size_t>{0, 1, 2, 3});
  CHECK(e.labels == std::vector<std::int32_t>{0, 0, 1, 1});
  for (std::size_t i = 0; i < 4; ++i) {
    // The greyscale PNG arrives as RGB, its grey replicated.
    const auto want = img::preprocess(img::read_rgb(folder.samples()[i].path), tiny_eval);
    CHECK(std::equal(want.begin(), want.end(), e.images.begin() + i * 75));
  }
}

TEST_CASE("image folder: undecodable files are an error naming the file, or skipped and listed") {
  const st::test::TempDir dir;
  write_messy_folder(dir.path());
  write_text(dir / "a_dog" / "text.png", "this is not a PNG");
  {
    std::ifstream in(dir / "b_cat" / "x.png", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir / "b_cat" / "truncated.png", std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  const st::data::ImageFolder folder(dir.path());
  REQUIRE(folder.size() == 6);
  const st::data::ImageLoaderOptions options{.batch = 4, .sample_size = 75, .shuffle = false};

  st::data::ImageFolderLoader strict(folder, folder.all(), st::data::eval_transform(tiny_eval),
                                     options);
  strict.start_epoch();
  CHECK_THROWS_WITH_AS(strict.next(), doctest::Contains("text.png"), img::ImageError);

  auto lenient_options = options;
  lenient_options.on_bad_image = st::data::OnBadImage::skip;
  st::data::ImageFolderLoader lenient(folder, folder.all(), st::data::eval_transform(tiny_eval),
                                      lenient_options);
  for (int epoch = 0; epoch < 2; ++epoch) {
    const Epoch e = read_epoch(lenient);
    CHECK(e.samples.size() == 4);
    CHECK(e.images.size() == 4 * 75);
  }
  // The pixel limit is the loader's option: at 62 pixels the 9x7 and 8x8 images are refused
  // too, the 12x5 and 6x10 ones kept.
  auto limited = lenient_options;
  limited.read.max_pixels = 62;
  st::data::ImageFolderLoader small_only(folder, folder.all(), st::data::eval_transform(tiny_eval),
                                         limited);
  CHECK(read_epoch(small_only).samples == std::vector<std::size_t>{3, 5});
  const auto refused = small_only.skipped();
  CHECK(refused.size() == 4);
  CHECK(std::any_of(refused.begin(), refused.end(), [](const st::data::SkippedFile& f) {
    return f.path.filename() == "1.png" && f.reason.find("limit of 62 pixels") != std::string::npos;
  }));
  // Listed once per epoch in which they were met.
  const auto skipped = lenient.skipped();
  CHECK(skipped.size() == 4);
  CHECK(skipped_names(skipped) == std::set<std::string>{"text.png", "truncated.png"});
  CHECK(skipped.front().reason.find("cannot be read") != std::string::npos);
}

TEST_CASE("image folder loader: the same batches for 1 and 3 workers; epochs reshuffle") {
  const st::test::TempDir dir;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 7; ++i)
      write_image(dir / ("class" + std::to_string(c)) / (std::to_string(i) + ".png"),
                  pattern(20 + i, 16 + c, 3, static_cast<std::uint8_t>(c * 7 + i)));
  const st::data::ImageFolder folder(dir.path());
  const st::data::TrainTransformOptions augment{.size = 8, .flip = true};
  const auto run = [&](std::size_t workers) {
    st::data::ImageFolderLoader loader(
        folder, folder.all(), st::data::train_transform(augment),
        {.batch = 4, .sample_size = 3 * 8 * 8, .seed = 11, .workers = workers, .prefetch = 2});
    std::vector<Epoch> epochs;
    for (int e = 0; e < 3; ++e) epochs.push_back(read_epoch(loader));
    return epochs;
  };
  const auto one = run(1), three = run(3);
  for (std::size_t e = 0; e < 3; ++e) {
    CHECK(one[e].samples == three[e].samples);
    CHECK(one[e].images == three[e].images);
    CHECK(one[e].labels == three[e].labels);
    auto sorted = one[e].samples;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == folder.all());  // every sample once per epoch
  }
  CHECK(one[0].samples != one[1].samples);
}

TEST_CASE("image folder: the seeded split is per class, disjoint and complete") {
  const st::test::TempDir dir;
  for (const auto& [name, count] : {std::pair{"c0", 10}, std::pair{"c1", 5}})
    for (int i = 0; i < count; ++i)
      write_image(dir / name / (std::to_string(i) + ".png"), pattern(4, 4, 3, 1));
  const st::data::ImageFolder folder(dir.path());
  const auto [train, validation] = folder.split(0.3, 5);
  CHECK(train.size() + validation.size() == 15);
  std::size_t validation_of_class0 = 0;
  for (const std::size_t i : validation) validation_of_class0 += folder.samples()[i].label == 0;
  CHECK(validation_of_class0 == 3);  // round(0.3 * 10); class 1: round(1.5) = 2
  CHECK(validation.size() == 5);
  std::vector<std::size_t> all = train;
  all.insert(all.end(), validation.begin(), validation.end());
  std::sort(all.begin(), all.end());
  CHECK(all == folder.all());
  CHECK(folder.split(0.3, 5) == std::pair(train, validation));
  CHECK_THROWS_AS(folder.split(1.5, 5), std::invalid_argument);
}

TEST_CASE("transforms: resized_crop of a box equals torchvision's F.resized_crop") {
  const img::Image photo = img::read_rgb(golden / "photo.png");
  const img::Image got = img::resized_crop(photo, {5, 7, 40, 30}, 20, 24);
  const img::Image want = img::read_rgb(golden / "resized_crop.png");
  REQUIRE(got.width == want.width);
  REQUIRE(got.height == want.height);
  CHECK(got.pixels == want.pixels);
}

TEST_CASE("transforms: RandomResizedCrop's central fallback equals torchvision's") {
  std::ifstream in(golden / "crop_fallback.txt");
  std::string line;
  int cases = 0;
  std::mt19937_64 rng(1);
  while (std::getline(in, line)) {
    std::istringstream row(line);
    std::size_t width, height;
    double ratio_min, ratio_max;
    std::string arrow;
    img::CropBox want;
    row >> width >> height >> ratio_min >> ratio_max >> arrow >> want.top >> want.left >>
        want.height >> want.width;
    CAPTURE(line);
    // A scale above 1 asks for more than the image: every try fails.
    CHECK(img::random_resized_crop_box(width, height, {2.0, 3.0, ratio_min, ratio_max}, rng) ==
          want);
    ++cases;
  }
  CHECK(cases == 5);
}

TEST_CASE("transforms: drawn boxes lie inside, with the asked area and aspect") {
  std::mt19937_64 rng(3);
  const img::RandomResizedCropOptions o{};
  for (int i = 0; i < 2000; ++i) {
    const auto box = img::random_resized_crop_box(64, 48, o, rng);
    REQUIRE(box.top + box.height <= 48);
    REQUIRE(box.left + box.width <= 64);
    const double area = double(box.width) * double(box.height) / (64.0 * 48.0);
    const double aspect = double(box.width) / double(box.height);
    // Rounding each side to a whole pixel moves area and aspect a little past the bounds.
    CHECK(area >= 0.08 * 0.8);
    CHECK(aspect >= 0.75 * 0.8);
    CHECK(aspect <= 4.0 / 3.0 * 1.25);
  }
  const img::Image grid = pattern(3, 2, 3, 1);
  const img::Image flipped = img::horizontal_flip(grid);
  CHECK(flipped.at(1, 0, 2) == grid.at(1, 2, 2));
  CHECK(img::horizontal_flip(flipped).pixels == grid.pixels);
  const img::Image padded = img::pad(grid, 2);
  CHECK(padded.width == 7);
  CHECK(padded.at(0, 0, 0) == 0);
  CHECK(padded.at(2, 2, 1) == grid.at(0, 0, 1));
  const auto box = img::random_crop_box(7, 6, 3, rng);
  CHECK((box.top <= 3 && box.left <= 4 && box.height == 3 && box.width == 3));
}

TEST_CASE("transforms: ColorJitter with fixed draws equals torchvision's, bit for bit") {
  const img::Image colours = img::read_rgb(golden / "colours.png");
  const img::Image want = img::read_rgb(golden / "color_jitter.png");
  std::ifstream in(golden / "color_jitter.txt");
  std::string line;
  std::size_t cases = 0;
  while (std::getline(in, line)) {
    CAPTURE(line);
    std::istringstream row(line);
    std::string order, factors[4];
    row >> order >> factors[0] >> factors[1] >> factors[2] >> factors[3];
    img::ColorJitterDraw draw;
    for (std::size_t k = 0; k < 4; ++k) draw.order[k] = std::size_t(order[k] - '0');
    std::optional<double>* slots[4] = {&draw.brightness, &draw.contrast, &draw.saturation,
                                       &draw.hue};
    for (std::size_t k = 0; k < 4; ++k)
      if (factors[k] != "-") *slots[k] = std::stod(factors[k]);
    const img::Image got = img::color_jitter(colours, draw);
    const img::Image expected = img::crop(want, {cases * 32, 0, 32, 32});
    std::size_t differing = 0;
    for (std::size_t i = 0; i < got.pixels.size(); ++i)
      differing += got.pixels[i] != expected.pixels[i];
    CHECK(differing == 0);
    ++cases;
  }
  CHECK(cases == 14);
  CHECK(cases * 32 == want.height);
}

TEST_CASE("transforms: ColorJitter's draws: a permutation, factors in range, off when zero") {
  std::mt19937_64 rng(7);
  const img::ColorJitterOptions o{.brightness = 0.4, .contrast = 1.5, .saturation = 0, .hue = 0.1};
  std::set<std::array<std::size_t, 4>> orders;
  for (int i = 0; i < 500; ++i) {
    const img::ColorJitterDraw d = img::color_jitter_draw(o, rng);
    auto sorted = d.order;
    std::sort(sorted.begin(), sorted.end());
    REQUIRE(sorted == std::array<std::size_t, 4>{0, 1, 2, 3});
    orders.insert(d.order);
    REQUIRE((d.brightness && d.contrast && !d.saturation && d.hue));
    CHECK((*d.brightness >= 0.6 && *d.brightness <= 1.4));
    CHECK((*d.contrast >= 0.0 && *d.contrast <= 2.5));  // max(0, 1 - 1.5)
    CHECK((*d.hue >= -0.1 && *d.hue <= 0.1));
  }
  CHECK(orders.size() == 24);
  std::mt19937_64 a(3), b(3);
  const auto first = img::color_jitter_draw(o, a), second = img::color_jitter_draw(o, b);
  CHECK((first.order == second.order && first.hue == second.hue));
  CHECK_THROWS_AS(img::color_jitter_draw({.hue = 0.6}, rng), std::invalid_argument);
  CHECK_THROWS_AS(img::adjust_hue(pattern(2, 2, 3, 1), -0.51), std::invalid_argument);
  // All four off: the image untouched (torchvision skips an adjustment whose factor is None;
  // adjust_hue(0) would not be the identity, PIL's HSV round trip loses precision).
  const img::Image p = pattern(5, 4, 3, 2);
  CHECK(img::color_jitter(p, img::color_jitter_draw({}, rng)).pixels == p.pixels);
  CHECK(img::adjust_hue(p, 0.0).pixels != p.pixels);
}

TEST_CASE("transforms: PCA lighting with fixed alphas equals the numpy reference") {
  const auto want = st::test::read_floats(golden / "lighting.f32");  // [3, 32, 32]
  const auto offset = img::pca_lighting_offset(img::imagenet_pca, {0.05, -0.12, 0.2});
  const auto got = img::to_normalized_chw(img::read_rgb(golden / "colours.png"), 255.0f,
                                          st::imagenet_mean, st::imagenet_std, offset);
  REQUIRE(got.size() == want.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < want.size(); ++i) differing += got[i] != want[i];
  CHECK(differing == 0);  // the same float32 operations in the same order
  // Zero alphas add nothing: the plain ToTensor + Normalize.
  const img::Image p = pattern(4, 3, 3, 1);
  CHECK(img::to_normalized_chw(p, 255.0f, st::imagenet_mean, st::imagenet_std,
                               img::pca_lighting_offset(img::imagenet_pca, {0, 0, 0})) ==
        img::to_normalized_chw(p, 255.0f, st::imagenet_mean, st::imagenet_std));
}

TEST_CASE("transforms: pca_components equal numpy's eigh of np.cov; alphas are N(0, std)") {
  const std::vector<img::Image> images = {img::read_rgb(golden / "photo.png"),
                                          img::read_rgb(golden / "colours.png")};
  const img::PcaComponents got = img::pca_components(images);
  std::ifstream in(golden / "pca.txt");
  img::PcaComponents want{};
  for (double& v : want.eigval) in >> v;
  for (auto& row : want.eigvec)
    for (double& v : row) in >> v;
  REQUIRE(in);
  // Double sums over 8,000 pixels in another order than numpy's, and an iterative solver:
  // agreement to 1e-12 is far tighter than any use of the components needs.
  for (std::size_t k = 0; k < 3; ++k) {
    CAPTURE(k);
    CHECK(std::abs(got.eigval[k] - want.eigval[k]) <= 1e-12);
    for (std::size_t c = 0; c < 3; ++c)
      CHECK(std::abs(got.eigvec[c][k] - want.eigvec[c][k]) <= 1e-12);
  }
  CHECK_THROWS_AS(img::pca_components(std::vector<img::Image>{pattern(1, 1, 3, 1)}),
                  std::invalid_argument);

  std::mt19937_64 rng(5);
  double sum = 0, squares = 0;
  constexpr int draws = 20000;
  for (int i = 0; i < draws; ++i)
    for (const double a : img::pca_lighting_draw(0.1, rng)) {
      sum += a;
      squares += a * a;
    }
  const double n = 3.0 * draws, mean = sum / n, stddev = std::sqrt(squares / n - mean * mean);
  // The standard errors are 0.1 / sqrt(n) = 0.0004 for the mean and about 0.0003 for the std.
  CHECK(std::abs(mean) < 0.002);
  CHECK(std::abs(stddev - 0.1) < 0.0015);
}

TEST_CASE("transforms: TenCrop's crops and their order equal torchvision's") {
  // Every pixel of colours.png's random rows differs, so equal crops mean equal boxes.
  const img::Image image = img::crop(img::read_rgb(golden / "colours.png"), {0, 0, 11, 13});
  const img::Image want = img::read_rgb(golden / "ten_crop.png");
  const std::vector<img::Image> got = img::ten_crop(image, 6);
  REQUIRE(got.size() == 10);
  REQUIRE(want.height == 60);
  for (std::size_t k = 0; k < 10; ++k) {
    CAPTURE(k);
    CHECK(got[k].pixels == img::crop(want, {6 * k, 0, 6, 6}).pixels);
  }
  // Centre offsets 3.5 and 2.5 round to the even neighbours 4 and 2.
  CHECK(img::five_crop_boxes(13, 11, 6)[4] == img::CropBox{2, 4, 6, 6});
  CHECK(img::five_crop_boxes(13, 11, 6)[3] == img::CropBox{5, 7, 6, 6});
  CHECK_THROWS_AS(img::five_crop_boxes(13, 11, 12), std::invalid_argument);
}

TEST_CASE("image folder: the ten-crop transform writes the ten normalised crops") {
  const img::Image photo = img::read_rgb(golden / "photo.png");
  const st::EvalPreprocessing how = st::torchvision_imagenet_eval(48, 41);
  std::vector<float> out(10 * 3 * 41 * 41);  // [10, 3, 41, 41]
  std::mt19937_64 rng(0);
  st::data::ten_crop_transform(how)(photo, rng, out);
  // The fifth crop is the centre: the plain evaluation transform's tensor.
  const auto centre = img::preprocess(photo, how);  // [3, 41, 41]
  CHECK(std::equal(centre.begin(), centre.end(), out.begin() + 4 * centre.size()));
  const auto mirrored = img::preprocess(img::horizontal_flip(photo), how);
  CHECK(std::equal(mirrored.begin(), mirrored.end(), out.begin() + 9 * centre.size()));
  st::EvalPreprocessing crop_first = how;
  crop_first.geometry = st::EvalPreprocessing::Geometry::crop_then_resize;
  CHECK_THROWS_AS(st::data::ten_crop_transform(crop_first), std::invalid_argument);
}

TEST_CASE("train transform: RandomCrop with padding draws every offset of the padded image") {
  const img::Image image = pattern(8, 6, 3, 4);
  const st::data::TrainTransformOptions o{.size = 6,
                                          .crop_kind = st::data::TrainCrop::padded,
                                          .padding = 2,
                                          .flip = false,
                                          .mean = {0, 0, 0},
                                          .std = {1, 1, 1},
                                          .divisor = 1};
  const auto transform = st::data::train_transform(o);
  const img::Image padded = img::pad(image, 2);  // 12x10: offsets 0..6 across, 0..4 down
  std::set<std::pair<std::size_t, std::size_t>> offsets;
  std::vector<float> out(3 * 6 * 6);  // [3, 6, 6]
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    std::mt19937_64 rng(seed);
    transform(image, rng, out);
    std::size_t found = 0;
    for (std::size_t top = 0; top <= 4; ++top)
      for (std::size_t left = 0; left <= 6; ++left) {
        const img::Image want = img::crop(padded, {top, left, 6, 6});
        if (img::to_normalized_chw(want, 1, {0, 0, 0}, {1, 1, 1}) == out) {
          offsets.insert({top, left});
          ++found;
        }
      }
    REQUIRE(found == 1);
  }
  CHECK(offsets.size() == 5 * 7);
  // Without padding a crop larger than the image cannot be drawn.
  auto unpadded = o;
  unpadded.padding = 0;
  unpadded.size = 7;
  std::mt19937_64 rng(1);
  CHECK_THROWS_AS(st::data::train_transform(unpadded)(image, rng, out), std::invalid_argument);
}

TEST_CASE(
    "train transform: jitter, lighting and padded crops give the same batches for any "
    "number of workers") {
  const st::test::TempDir dir;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 6; ++i)
      write_image(dir / ("class" + std::to_string(c)) / (std::to_string(i) + ".png"),
                  pattern(8 + i % 2, 8, 3, static_cast<std::uint8_t>(c * 6 + i)));
  const st::data::ImageFolder folder(dir.path());
  const auto run = [&](const st::data::TrainTransformOptions& augment, std::size_t workers) {
    st::data::ImageFolderLoader loader(
        folder, folder.all(), st::data::train_transform(augment),
        {.batch = 5, .sample_size = 3 * 8 * 8, .seed = 4, .workers = workers});
    return std::pair{read_epoch(loader), read_epoch(loader)};
  };
  const st::data::TrainTransformOptions plain{
      .size = 8, .crop_kind = st::data::TrainCrop::padded, .padding = 3};
  auto augmented = plain;
  augmented.jitter = {.brightness = 0.4, .contrast = 0.4, .saturation = 0.4, .hue = 0.1};
  augmented.lighting = img::PcaLightingOptions{};
  const auto one = run(augmented, 1), three = run(augmented, 3);
  CHECK(one.first.images == three.first.images);
  CHECK(one.second.images == three.second.images);
  CHECK(one.first.images != one.second.images);  // each epoch draws anew
  // The same draws of crop and flip, then the colour: the augmentations change the values.
  const auto without = run(plain, 2);
  CHECK(without.first.samples == one.first.samples);
  CHECK(without.first.images != one.first.images);
}
