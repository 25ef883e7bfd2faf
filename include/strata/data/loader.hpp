// In-memory image datasets and a mini-batch loader over them.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <numeric>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/data/idx.hpp"

namespace strata::data {

// Applied as (pixel / 255 - mean) / std.
struct Normalize {
  float mean = 0.f, std = 1.f;
};

struct Dataset {
  std::size_t count = 0, channels = 1, rows = 0, cols = 0;
  std::vector<float> images;  // count * image_size(), sample-major, then channel, row, column
  std::vector<std::int32_t> labels;
  // The value a black (0) pixel has after normalisation: what augmentation pads with.
  float black = 0.f;

  std::size_t image_size() const { return channels * rows * cols; }
};

inline Dataset make_dataset(const IdxImages& images, const std::vector<std::uint8_t>& labels,
                            Normalize norm, const std::string& what_for_errors) {
  if (!(norm.std > 0.f) || !std::isfinite(norm.std) || !std::isfinite(norm.mean))
    throw std::invalid_argument(
        "make_dataset: Normalize::std must be finite and positive and "
        "Normalize::mean finite");
  if (images.count != labels.size()) {
    throw DataError(what_for_errors + ": count mismatch: " + std::to_string(images.count) +
                    " images but " + std::to_string(labels.size()) + " labels");
  }
  // Only 256 pixel values exist, so a table replaces a divide per pixel.
  std::array<float, 256> table{};
  for (std::size_t v = 0; v < table.size(); ++v)
    table[v] = (static_cast<float>(v) / 255.f - norm.mean) / norm.std;

  Dataset d;
  d.black = (0.f - norm.mean) / norm.std;
  d.count = images.count;
  d.rows = images.rows;
  d.cols = images.cols;
  d.images.resize(images.pixels.size());
  std::transform(images.pixels.begin(), images.pixels.end(), d.images.begin(),
                 [&](std::uint8_t p) { return table[p]; });
  d.labels.assign(labels.begin(), labels.end());
  return d;
}

enum class Split { train, test };

namespace detail {

inline std::filesystem::path find_idx_file(const std::filesystem::path& dir,
                                           const std::string& stem, const char* role) {
  for (const char* suffix : {"", ".gz"}) {
    const auto candidate = dir / (stem + suffix);
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  std::error_code ec;
  const std::string where = std::filesystem::is_directory(dir, ec)
                                ? "in directory '" + dir.string() + "'"
                                : "because directory '" + dir.string() + "' does not exist";
  throw DataError(std::string("no ") + role + " file found " + where + ": looked for " + stem +
                  " and " + stem + ".gz");
}

}  // namespace detail

// Reads the MNIST file layout (also used by Fashion-MNIST and KMNIST) from `dir`, accepting each
// file plain or gzip-compressed.
inline Dataset load_mnist_format(const std::filesystem::path& dir, Split split,
                                 Normalize norm = {}) {
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const auto images_path = detail::find_idx_file(dir, prefix + "-images-idx3-ubyte", "images");
  const auto labels_path = detail::find_idx_file(dir, prefix + "-labels-idx1-ubyte", "labels");
  return make_dataset(
      read_idx_images(images_path), read_idx_labels(labels_path), norm,
      "images file '" + images_path.string() + "' and labels file '" + labels_path.string() + "'");
}

// Training-time augmentation, drawn per image and per epoch from the loader's seed:
// torchvision's RandomCrop(size, padding=crop_padding) (black padding) and
// RandomHorizontalFlip(0.5).
struct Augment {
  std::size_t crop_padding = 0;
  bool horizontal_flip = false;

  bool any() const { return crop_padding != 0 || horizontal_flip; }
};

struct LoaderOptions {
  std::size_t batch = 64;
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool drop_last = false;
  Augment augment{};
};

// Views into the loader's buffers (or the dataset when not shuffling); valid until the iterator
// that produced the batch is advanced or the loader's begin() is called again.
struct Batch {
  std::span<const float> images;  // size * dataset.image_size()
  std::span<const std::int32_t> labels;
  std::size_t size = 0;
};

// An input range of the batches of one epoch; each begin() starts the next epoch. The dataset must
// outlive the loader, and only one pass over a loader may be in progress at a time.
class Loader {
 public:
  class iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() = default;

    const Batch& operator*() const { return loader_->current_; }
    const Batch* operator->() const { return &loader_->current_; }
    iterator& operator++() {
      loader_->load(++index_);
      return *this;
    }
    void operator++(int) { ++*this; }

    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.index_ >= it.loader_->batches_per_epoch();
    }

   private:
    friend class Loader;
    iterator(Loader* loader, std::size_t index) : loader_(loader), index_(index) {}

    Loader* loader_ = nullptr;
    std::size_t index_ = 0;
  };

  Loader(const Dataset& dataset, LoaderOptions options) : data_(&dataset), opt_(options) {
    if (opt_.batch == 0) throw std::invalid_argument("Loader: LoaderOptions::batch must be > 0");
    const std::size_t isz = dataset.image_size();
    if (dataset.labels.size() != dataset.count || dataset.images.size() != dataset.count * isz) {
      throw std::invalid_argument("Loader: dataset is inconsistent: count " +
                                  std::to_string(dataset.count) + ", " +
                                  std::to_string(dataset.labels.size()) + " labels, " +
                                  std::to_string(dataset.images.size()) +
                                  " image values for images of " + std::to_string(isz) + " values");
    }
    batches_ =
        opt_.drop_last ? dataset.count / opt_.batch : (dataset.count + opt_.batch - 1) / opt_.batch;
    // Without shuffling or augmentation, batches are contiguous slices of the dataset and need
    // no gathering.
    if (opt_.shuffle || opt_.augment.any()) {
      order_.resize(dataset.count);
      std::iota(order_.begin(), order_.end(), std::size_t{0});
      const std::size_t rows = std::min(opt_.batch, dataset.count);
      images_.resize(rows * isz);
      labels_.resize(rows);
      plane_.resize(dataset.rows * dataset.cols);
    }
  }

  iterator begin() {
    if (opt_.shuffle) {
      std::iota(order_.begin(), order_.end(), std::size_t{0});
      std::mt19937_64 rng(opt_.seed + epoch_);
      strata::shuffle(order_, rng);
    }
    // A stream apart from the shuffle's, so that augmenting does not change the order.
    augment_rng_.seed(~(opt_.seed + epoch_));
    ++epoch_;
    load(0);
    return iterator(this, 0);
  }
  std::default_sentinel_t end() const { return {}; }

  std::size_t batches_per_epoch() const { return batches_; }
  // Same as batches_per_epoch(); the conventional name lets std::ranges::size() work.
  std::size_t size() const { return batches_; }

  // The epoch number the next begin() uses; settable to resume a run reproducibly.
  std::uint64_t epoch() const { return epoch_; }
  void set_epoch(std::uint64_t epoch) { epoch_ = epoch; }

 private:
  void load(std::size_t index) {
    if (index >= batches_) return;
    const Dataset& d = *data_;
    const std::size_t isz = d.image_size();
    const std::size_t start = index * opt_.batch;
    const std::size_t n = std::min(opt_.batch, d.count - start);
    if (!opt_.shuffle && !opt_.augment.any()) {
      current_ = {std::span(d.images).subspan(start * isz, n * isz),
                  std::span(d.labels).subspan(start, n), n};
      return;
    }
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t s = order_[start + k];
      std::copy_n(d.images.begin() + static_cast<std::ptrdiff_t>(s * isz), isz,
                  images_.begin() + static_cast<std::ptrdiff_t>(k * isz));
      labels_[k] = d.labels[s];
      if (opt_.augment.any()) augment(images_.data() + k * isz);
    }
    current_ = {std::span<const float>(images_.data(), n * isz),
                std::span<const std::int32_t>(labels_.data(), n), n};
  }

  // Crops (with black padding) and flips one gathered image in place, channel by channel.
  void augment(float* image) {
    const Dataset& d = *data_;
    const std::size_t pad = opt_.augment.crop_padding;
    // Offsets of the crop window in the padded image, [0, 2 * pad] each.
    const std::size_t top = pad ? augment_rng_() % (2 * pad + 1) : pad;
    const std::size_t left = pad ? augment_rng_() % (2 * pad + 1) : pad;
    const bool flip = opt_.augment.horizontal_flip && (augment_rng_() & 1u);
    for (std::size_t c = 0; c < d.channels; ++c) {
      float* channel = image + c * d.rows * d.cols;
      std::copy_n(channel, plane_.size(), plane_.begin());
      for (std::size_t i = 0; i < d.rows; ++i)
        for (std::size_t j = 0; j < d.cols; ++j) {
          // Pixel (i, j) of the crop is pixel (i + top - pad, j + left - pad) of the original.
          const std::size_t si = i + top, sj = j + left;
          const bool inside = si >= pad && si < pad + d.rows && sj >= pad && sj < pad + d.cols;
          const float value = inside ? plane_[(si - pad) * d.cols + (sj - pad)] : d.black;
          channel[i * d.cols + (flip ? d.cols - 1 - j : j)] = value;
        }
    }
  }

  const Dataset* data_;
  LoaderOptions opt_;
  std::size_t batches_ = 0;
  std::uint64_t epoch_ = 0;
  std::vector<std::size_t> order_;
  std::vector<float> images_;
  std::vector<std::int32_t> labels_;
  std::vector<float> plane_;  // one channel of the image being augmented
  std::mt19937_64 augment_rng_;
  Batch current_;
};

}  // namespace strata::data
