#include <doctest/doctest.h>

#include <zlib.h>
#include "temp_dir.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <new>
#include <numeric>
#include <random>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "strata/data/idx.hpp"
#include "strata/data/loader.hpp"

namespace fs = std::filesystem;
namespace sd = strata::data;

// Replacing the global allocation functions is the only portable way to prove that iterating a
// Loader does not touch the heap. This is the one TU of test_data that includes the counter.
#include "allocation_counter.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

struct TempDir : strata::test::TempDir {
  TempDir() : strata::test::TempDir("strata_test_data_") {}
};

void put_be32(Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

Bytes idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, const Bytes& pixels,
                 std::uint32_t magic = 0x00000803) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, count);
  put_be32(b, rows);
  put_be32(b, cols);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

Bytes idx_labels(const Bytes& labels) {
  Bytes b;
  put_be32(b, 0x00000801);
  put_be32(b, static_cast<std::uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

void write_plain(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_gzip(const fs::path& path, const Bytes& bytes) {
  gzFile f = gzopen(path.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes gzip(const Bytes& bytes) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&zs, bytes.size()));
  zs.next_in = const_cast<Bytef*>(bytes.data());
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

Bytes read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes iota_bytes(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 37 % 256);
  return b;
}

// Runs f, which must throw DataError, and checks that the message contains every word.
template <class F>
void check_data_error(F&& f, std::initializer_list<std::string_view> words) {
  try {
    f();
    FAIL("expected strata::data::DataError");
  } catch (const sd::DataError& e) {
    const std::string msg = e.what();
    for (std::string_view w : words)
      CHECK_MESSAGE(msg.find(w) != std::string::npos, "'", w, "' not in: ", msg);
  }
}

// Sample i has label i and pixels (i, i + 0.5), so any batch shows which samples it holds.
sd::Dataset numbered_dataset(std::size_t count) {
  sd::Dataset d;
  d.count = count;
  d.rows = 1;
  d.cols = 2;
  for (std::size_t i = 0; i < count; ++i) {
    d.images.push_back(static_cast<float>(i));
    d.images.push_back(static_cast<float>(i) + 0.5f);
    d.labels.push_back(static_cast<std::int32_t>(i));
  }
  return d;
}

std::vector<std::int32_t> epoch_labels(sd::Loader& loader) {
  std::vector<std::int32_t> seen;
  for (const sd::Batch& b : loader) seen.insert(seen.end(), b.labels.begin(), b.labels.end());
  return seen;
}

std::vector<std::size_t> epoch_sizes(sd::Loader& loader) {
  std::vector<std::size_t> sizes;
  for (const sd::Batch& b : loader) sizes.push_back(b.size);
  return sizes;
}

}  // namespace

static_assert(std::ranges::input_range<sd::Loader>);

TEST_CASE("IDX files round-trip, plain and gzip, detected by content not extension") {
  TempDir dir;
  const Bytes pixels = iota_bytes(3 * 2 * 4);
  const Bytes labels = {7, 0, 255};
  const Bytes images_file = idx_images(3, 2, 4, pixels);
  const Bytes labels_file = idx_labels(labels);

  // The misleading extensions check that detection looks at the gzip magic bytes.
  write_plain(dir / "plain.gz", images_file);
  write_gzip(dir / "compressed.idx", images_file);
  write_plain(dir / "labels", labels_file);
  write_gzip(dir / "labels.gz", labels_file);

  for (const char* name : {"plain.gz", "compressed.idx"}) {
    CAPTURE(name);
    const sd::IdxImages img = sd::read_idx_images(dir / name);
    CHECK(img.count == 3);
    CHECK(img.rows == 2);
    CHECK(img.cols == 4);
    CHECK(img.pixels == pixels);
  }
  CHECK(sd::read_idx_labels(dir / "labels") == labels);
  CHECK(sd::read_idx_labels(dir / "labels.gz") == labels);
}

TEST_CASE("IDX readers read from memory, plain and gzip, naming the bytes in messages") {
  const Bytes pixels = iota_bytes(2 * 3 * 1);
  for (const Bytes& file : {idx_images(2, 3, 1, pixels), gzip(idx_images(2, 3, 1, pixels))}) {
    const sd::IdxImages img = sd::read_idx_images_from_memory(file);
    CHECK(img.count == 2);
    CHECK(img.rows == 3);
    CHECK(img.cols == 1);
    CHECK(img.pixels == pixels);
  }
  CHECK(sd::read_idx_labels_from_memory(gzip(idx_labels({4, 5}))) == Bytes{4, 5});
  check_data_error(
      [] {
        sd::read_idx_labels_from_memory(Bytes{0, 0, 8, 1, 0}, "upload #3");
      },
      {"data file 'upload #3'", "truncated"});
  check_data_error([] { sd::read_idx_images_from_memory(Bytes{}); }, {"'<memory>'", "truncated"});
}

TEST_CASE("IDX readers accept empty files and concatenated gzip members") {
  TempDir dir;
  write_plain(dir / "empty-images", idx_images(0, 28, 28, {}));
  const sd::IdxImages img = sd::read_idx_images(dir / "empty-images");
  CHECK(img.count == 0);
  CHECK(img.pixels.empty());

  const Bytes labels_file = idx_labels({1, 2, 3, 4});
  write_gzip(dir / "head.gz", Bytes(labels_file.begin(), labels_file.begin() + 5));
  write_gzip(dir / "tail.gz", Bytes(labels_file.begin() + 5, labels_file.end()));
  Bytes joined = read_all(dir / "head.gz");
  const Bytes tail = read_all(dir / "tail.gz");
  joined.insert(joined.end(), tail.begin(), tail.end());
  write_plain(dir / "joined.gz", joined);
  CHECK(sd::read_idx_labels(dir / "joined.gz") == Bytes{1, 2, 3, 4});
}

TEST_CASE("IDX errors name the file and the problem") {
  TempDir dir;

  SUBCASE("missing file") {
    check_data_error([&] { sd::read_idx_images(dir / "nope-images"); },
                     {"nope-images", "not found"});
    check_data_error([&] { sd::read_idx_labels(dir / "nope-labels"); },
                     {"nope-labels", "not found"});
  }
  SUBCASE("directory instead of file") {
    fs::create_directory(dir / "subdir");
    check_data_error([&] { sd::read_idx_images(dir / "subdir"); }, {"subdir", "directory"});
  }
  SUBCASE("truncated header") {
    const Bytes full = idx_images(1, 1, 1, {0});
    write_plain(dir / "short-header", Bytes(full.begin(), full.begin() + 10));
    check_data_error([&] { sd::read_idx_images(dir / "short-header"); },
                     {"short-header", "truncated", "16 bytes", "only 10"});
    write_plain(dir / "tiny", {0, 0});
    check_data_error([&] { sd::read_idx_labels(dir / "tiny"); }, {"tiny", "truncated", "8 bytes"});
  }
  SUBCASE("truncated payload") {
    const Bytes full = idx_images(3, 2, 4, iota_bytes(24));
    const Bytes cut(full.begin(), full.end() - 4);
    write_plain(dir / "short-payload", cut);
    check_data_error([&] { sd::read_idx_images(dir / "short-payload"); },
                     {"short-payload", "truncated", "40 bytes", "only 36 bytes"});
    write_gzip(dir / "short-payload.gz", cut);
    check_data_error([&] { sd::read_idx_images(dir / "short-payload.gz"); },
                     {"short-payload.gz", "truncated", "after decompression"});
    const Bytes labels = idx_labels({1, 2, 3});
    write_plain(dir / "short-labels", Bytes(labels.begin(), labels.end() - 1));
    check_data_error([&] { sd::read_idx_labels(dir / "short-labels"); },
                     {"short-labels", "truncated", "11 bytes", "only 10 bytes"});
  }
  SUBCASE("wrong magic number") {
    write_plain(dir / "labels-file", idx_labels({1, 2, 3, 4, 5, 6, 7, 8, 9}));
    check_data_error([&] { sd::read_idx_images(dir / "labels-file"); },
                     {"labels-file", "wrong magic", "0x00000803", "0x00000801"});
    write_plain(dir / "float-images", idx_images(1, 1, 1, {0}, 0x00000D03));
    check_data_error([&] { sd::read_idx_labels(dir / "float-images"); },
                     {"float-images", "wrong magic", "0x00000801", "0x00000D03"});
  }
  SUBCASE("payload longer than the declared counts") {
    write_plain(dir / "long-images", idx_images(2, 2, 2, iota_bytes(9)));
    check_data_error([&] { sd::read_idx_images(dir / "long-images"); },
                     {"long-images", "size mismatch", "1 trailing byte"});
    Bytes labels = idx_labels({1, 2});
    labels.insert(labels.end(), {3, 4, 5});
    write_gzip(dir / "long-labels.gz", labels);
    check_data_error([&] { sd::read_idx_labels(dir / "long-labels.gz"); },
                     {"long-labels.gz", "size mismatch", "more than 10 bytes after decompression"});
  }
  SUBCASE("gzip that inflates far beyond its header") {
    // 1 label declared, 64 MiB of zeros behind it, in a file of about 64 KiB. Its CRC is broken,
    // so a reader that inflated it to the end would report the CRC rather than the size.
    Bytes labels = idx_labels({7});
    labels.resize(labels.size() + (std::size_t{64} << 20));
    Bytes bomb = gzip(labels);
    REQUIRE(bomb.size() < labels.size() / 500);
    bomb[bomb.size() - 8] ^= 0xFF;
    write_plain(dir / "bomb.gz", bomb);
    check_data_error([&] { sd::read_idx_labels(dir / "bomb.gz"); },
                     {"bomb.gz", "size mismatch", "declares 1 labels", "more than 9 bytes"});
  }
  SUBCASE("corrupted gzip stream") {
    write_gzip(dir / "good.gz", idx_images(4, 16, 16, iota_bytes(4 * 16 * 16)));
    const Bytes good = read_all(dir / "good.gz");
    REQUIRE(good.size() > 40);

    // Only the second half is flipped: the reader inflates the header first and checks it, so
    // garbage from a damaged start may be reported as a wrong magic number instead.
    Bytes flipped = good;
    for (std::size_t i = good.size() / 2; i < flipped.size() - 8; i += 3) flipped[i] ^= 0x5A;
    write_plain(dir / "flipped.gz", flipped);
    check_data_error([&] { sd::read_idx_images(dir / "flipped.gz"); },
                     {"flipped.gz", "corrupted gzip"});

    write_plain(dir / "cut.gz", Bytes(good.begin(), good.begin() + good.size() / 2));
    check_data_error([&] { sd::read_idx_images(dir / "cut.gz"); },
                     {"cut.gz", "corrupted gzip", "unexpected end"});
  }
}

TEST_CASE("make_dataset normalises pixels and checks counts") {
  const sd::IdxImages img{1, 1, 3, {0, 255, 51}};
  const sd::Dataset d = sd::make_dataset(img, {9}, {0.5f, 0.25f}, "test");
  CHECK(d.count == 1);
  CHECK(d.channels == 1);
  CHECK(d.rows == 1);
  CHECK(d.cols == 3);
  CHECK(d.image_size() == 3);
  REQUIRE(d.images.size() == 3);
  CHECK(d.images[0] == doctest::Approx(-2.0f));
  CHECK(d.images[1] == doctest::Approx(2.0f));
  CHECK(d.images[2] == doctest::Approx(-1.2f));
  CHECK(d.labels == std::vector<std::int32_t>{9});

  const sd::Dataset plain = sd::make_dataset(img, {9}, {}, "test");
  CHECK(plain.images[1] == doctest::Approx(1.0f));
  CHECK(plain.images[2] == doctest::Approx(0.2f));

  check_data_error(
      [&] {
        sd::make_dataset(img, {1, 2}, {}, "my-split");
      },
      {"my-split", "mismatch", "1 images", "2 labels"});
  CHECK_THROWS_AS(sd::make_dataset(img, {9}, {0.f, 0.f}, "test"), std::invalid_argument);
}

TEST_CASE("load_mnist_format finds plain or gzip files and reports what is missing") {
  TempDir dir;
  check_data_error([&] { sd::load_mnist_format(dir.path(), sd::Split::train); },
                   {dir.path().string(), "train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"});
  check_data_error([&] { sd::load_mnist_format(dir / "absent", sd::Split::test); },
                   {"absent", "does not exist", "t10k-images-idx3-ubyte"});

  write_gzip(dir / "t10k-images-idx3-ubyte.gz", idx_images(2, 1, 1, {0, 255}));
  check_data_error([&] { sd::load_mnist_format(dir.path(), sd::Split::test); },
                   {"t10k-labels-idx1-ubyte.gz"});

  write_plain(dir / "t10k-labels-idx1-ubyte", idx_labels({3, 4}));
  const sd::Dataset d = sd::load_mnist_format(dir.path(), sd::Split::test);
  CHECK(d.count == 2);
  CHECK(d.images == std::vector<float>{0.f, 1.f});
  CHECK(d.labels == std::vector<std::int32_t>{3, 4});

  write_plain(dir / "t10k-labels-idx1-ubyte", idx_labels({3, 4, 5}));
  check_data_error(
      [&] { sd::load_mnist_format(dir.path(), sd::Split::test); },
      {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte", "mismatch", "2 images but 3 labels"});
}

TEST_CASE("Loader batch sizes, partial last batch and drop_last") {
  const sd::Dataset d = numbered_dataset(10);

  sd::Loader keep(d, {.batch = 4});
  CHECK(keep.batches_per_epoch() == 3);
  CHECK(std::ranges::size(keep) == 3);
  CHECK(epoch_sizes(keep) == std::vector<std::size_t>{4, 4, 2});

  sd::Loader drop(d, {.batch = 4, .drop_last = true});
  CHECK(drop.batches_per_epoch() == 2);
  CHECK(epoch_sizes(drop) == std::vector<std::size_t>{4, 4});

  sd::Loader exact(d, {.batch = 5, .drop_last = true});
  CHECK(epoch_sizes(exact) == std::vector<std::size_t>{5, 5});

  sd::Loader big(d, {.batch = 64});
  CHECK(epoch_sizes(big) == std::vector<std::size_t>{10});

  sd::Loader none(d, {.batch = 64, .drop_last = true});
  CHECK(none.batches_per_epoch() == 0);
  CHECK(epoch_sizes(none).empty());

  const sd::Dataset empty = numbered_dataset(0);
  sd::Loader on_empty(empty, {.batch = 4});
  CHECK(epoch_sizes(on_empty).empty());

  for (const sd::Batch& b : keep) {
    CHECK(b.images.size() == b.size * d.image_size());
    CHECK(b.labels.size() == b.size);
  }
}

TEST_CASE("Loader visits every sample exactly once per epoch, with matching images") {
  const sd::Dataset d = numbered_dataset(23);
  for (bool drop_last : {false, true}) {
    sd::Loader loader(d, {.batch = 5, .seed = 42, .drop_last = drop_last});
    for (int epoch = 0; epoch < 3; ++epoch) {
      std::vector<std::int32_t> seen;
      for (const sd::Batch& b : loader) {
        for (std::size_t k = 0; k < b.size; ++k) {
          CHECK(b.images[2 * k] == static_cast<float>(b.labels[k]));
          CHECK(b.images[2 * k + 1] == static_cast<float>(b.labels[k]) + 0.5f);
          seen.push_back(b.labels[k]);
        }
      }
      std::ranges::sort(seen);
      CHECK(std::ranges::adjacent_find(seen) == seen.end());
      CHECK(seen.size() == (drop_last ? 20u : 23u));
      if (!drop_last) {
        std::vector<std::int32_t> all(23);
        std::iota(all.begin(), all.end(), 0);
        CHECK(seen == all);
      }
    }
  }
}

TEST_CASE("Loader shuffling is deterministic per seed and epoch") {
  const sd::Dataset d = numbered_dataset(50);
  sd::Loader a(d, {.batch = 8, .seed = 7});
  sd::Loader b(d, {.batch = 8, .seed = 7});
  sd::Loader other_seed(d, {.batch = 8, .seed = 8000});

  const auto a0 = epoch_labels(a);
  const auto a1 = epoch_labels(a);
  CHECK(a.epoch() == 2);
  CHECK(a0 == epoch_labels(b));
  CHECK(a1 == epoch_labels(b));
  CHECK(a0 != a1);
  CHECK(a0 != epoch_labels(other_seed));

  std::vector<std::int32_t> identity(50);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(a0 != identity);

  // Resuming at an epoch reproduces that epoch's order.
  sd::Loader resumed(d, {.batch = 8, .seed = 7});
  resumed.set_epoch(1);
  CHECK(epoch_labels(resumed) == a1);

  sd::Loader ordered(d, {.batch = 8, .shuffle = false});
  CHECK(epoch_labels(ordered) == identity);
  CHECK(epoch_labels(ordered) == identity);
}

TEST_CASE("Loader rejects bad options and inconsistent datasets") {
  const sd::Dataset d = numbered_dataset(4);
  CHECK_THROWS_WITH_AS(sd::Loader(d, {.batch = 0}), doctest::Contains("batch"),
                       std::invalid_argument);
  sd::Dataset broken = d;
  broken.labels.pop_back();
  CHECK_THROWS_WITH_AS(sd::Loader(broken, {}), doctest::Contains("inconsistent"),
                       std::invalid_argument);
}

TEST_CASE("Loader iteration does not allocate") {
  const sd::Dataset d = numbered_dataset(100);
  for (bool shuffle : {true, false}) {
    CAPTURE(shuffle);
    sd::Loader loader(d, {.batch = 16, .shuffle = shuffle, .seed = 3});
    // No doctest assertions inside the measured region: they may allocate themselves.
    std::size_t batches = 0;
    float checksum = 0.f;
    const std::size_t before = strata::test::heap_allocations();
    for (int epoch = 0; epoch < 3; ++epoch) {
      for (const sd::Batch& b : loader) {
        ++batches;
        checksum += b.images[0];
      }
    }
    const std::size_t allocations = strata::test::heap_allocations() - before;
    CHECK(allocations == 0);
    CHECK(batches == 3 * 7);
    CHECK(checksum >= 0.f);
  }
}

// A 1-channel 5x6 dataset of distinct positive pixel values, so that every crop offset and flip
// gives a different image; black is -1.
sd::Dataset pattern_dataset(std::size_t count) {
  sd::Dataset d;
  d.count = count;
  d.rows = 5;
  d.cols = 6;
  d.black = -1.f;
  for (std::size_t n = 0; n < count; ++n) {
    for (std::size_t i = 0; i < 30; ++i) d.images.push_back(static_cast<float>(n * 100 + i + 1));
    d.labels.push_back(static_cast<std::int32_t>(n));
  }
  return d;
}

// The image of `original` [5x6] cropped at offset (dy, dx) in [-pad, pad] and maybe mirrored.
std::vector<float> shifted(std::span<const float> original, int dy, int dx, bool flip) {
  std::vector<float> out(30);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 6; ++j) {
      const int si = i + dy, sj = j + dx;
      const float v = si >= 0 && si < 5 && sj >= 0 && sj < 6 ? original[si * 6 + sj] : -1.f;
      out[i * 6 + (flip ? 5 - j : j)] = v;
    }
  return out;
}

TEST_CASE("Loader augmentation: random crop with black padding and horizontal flip") {
  const sd::Dataset d = pattern_dataset(40);
  const int pad = 2;
  sd::Loader loader(d, {.batch = 8,
                        .shuffle = false,
                        .seed = 5,
                        .augment = {.crop_padding = pad, .horizontal_flip = true}});
  std::set<std::tuple<int, int, bool>> seen;
  for (const sd::Batch& b : loader) {
    for (std::size_t k = 0; k < b.size; ++k) {
      const auto label = static_cast<std::size_t>(b.labels[k]);
      const std::span<const float> original(d.images.data() + label * 30, 30);
      const std::vector<float> got(b.images.begin() + k * 30, b.images.begin() + (k + 1) * 30);
      // Exactly one crop offset and flip explains each augmented image.
      int matches = 0;
      for (int dy = -pad; dy <= pad; ++dy)
        for (int dx = -pad; dx <= pad; ++dx)
          for (bool flip : {false, true})
            if (shifted(original, dy, dx, flip) == got) {
              ++matches;
              seen.insert({dy, dx, flip});
            }
      CHECK(matches == 1);
    }
  }
  // 40 draws over 25 offsets x 2 flips: a fixed or one-sided choice would show.
  CHECK(seen.size() > 15);
}

TEST_CASE("Loader augmentation is reproducible per seed and epoch, and allocates nothing") {
  const sd::Dataset d = pattern_dataset(20);
  const sd::LoaderOptions options{.batch = 20,
                                  .shuffle = true,
                                  .seed = 9,
                                  .augment = {.crop_padding = 1, .horizontal_flip = true}};
  sd::Loader a(d, options), b(d, options);
  // Each begin() starts an epoch; the batch is read before the next one overwrites it.
  const auto first_batch = [](sd::Loader& loader) {
    const sd::Batch& batch = *loader.begin();
    return std::vector<float>(batch.images.begin(), batch.images.end());
  };
  const std::vector<float> first_a = first_batch(a), first_b = first_batch(b);
  CHECK(first_a == first_b);
  CHECK(first_batch(a) != first_a);  // the next epoch draws other crops and flips

  float checksum = 0.f;
  const std::size_t before = strata::test::heap_allocations();
  for (int epoch = 0; epoch < 3; ++epoch)
    for (const sd::Batch& batch : a) checksum += batch.images[0];
  const std::size_t allocations = strata::test::heap_allocations() - before;
  CHECK(allocations == 0);
  CHECK(checksum != 0.f);
}

TEST_CASE("Fashion-MNIST from /usr/share/datasets/fashion-mnist") {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(dir)) {
    MESSAGE("skipped: ", dir.string(), " not found (Debian package dataset-fashion-mnist)");
    return;
  }
  const sd::Dataset train = sd::load_mnist_format(dir, sd::Split::train);
  const sd::Dataset test = sd::load_mnist_format(dir, sd::Split::test);
  CHECK(train.count == 60000);
  CHECK(test.count == 10000);
  for (const sd::Dataset* d : {&train, &test}) {
    CHECK(d->rows == 28);
    CHECK(d->cols == 28);
    CHECK(d->images.size() == d->count * 28 * 28);
    CHECK(std::ranges::all_of(d->labels, [](std::int32_t l) { return l >= 0 && l < 10; }));
    const auto [lo, hi] = std::ranges::minmax(d->images);
    CHECK(lo == 0.f);
    CHECK(hi == 1.f);
  }
  sd::Loader loader(train, {.batch = 64});
  CHECK(loader.batches_per_epoch() == 938);
}
