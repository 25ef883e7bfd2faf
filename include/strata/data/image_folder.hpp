// Image folders: root/<class>/<image>, as torchvision's ImageFolder reads them, and a loader that
// decodes and transforms them on worker threads into batches ready for Model::forward.
//   ImageFolder folder("data/train");             // classes sorted by name, as torchvision
//   auto [train, val] = folder.split(0.2, seed);  // per class, seeded
//   ImageFolderLoader loader(folder, train, image::train_transform(...), {.batch = 32});
//   for (std::size_t epoch = 0; epoch < 10; ++epoch)
//     for (loader.start_epoch(); const ImageBatch* b = loader.next();)
//       model.forward(b->images);                  // [b->size, C, H, W]
// Real folders are messy, and every case has a defined outcome:
//   - hidden files and folders (names starting with '.'), and files whose extension is not an
//     image's (ImageFolderOptions::extensions, case-insensitive), are skipped and listed in
//     skipped() (torchvision skips the second kind only);
//   - a class folder without images is an error naming it, as torchvision's, unless
//     allow_empty_classes (the class keeps its index);
//   - a file that cannot be decoded (truncated, not an image, more pixels than
//     ImageLoaderOptions::read.max_pixels) is an error naming
//     the file when its batch is read (OnBadImage::error, the default), or dropped from its batch
//     and listed in skipped() (OnBadImage::skip);
//   - greyscale, RGBA, palette and 16-bit images are converted to RGB by the decoder
//     (strata/image/io.hpp).
// The transform of sample i in epoch e draws from a generator seeded by (seed, e, i), so the
// batches do not depend on the number of workers or their timing.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "strata/data/idx.hpp"
#include "strata/data/loader.hpp"
#include "strata/image/io.hpp"
#include "strata/image/preprocess.hpp"
#include "strata/image/transforms.hpp"

namespace strata::data {

enum class OnBadImage { error, skip };

struct ImageFolderOptions {
  std::vector<std::string> extensions = {".jpg", ".jpeg", ".png"};
  bool allow_empty_classes = false;
};

struct ImageSample {
  std::filesystem::path path;
  std::int32_t label = 0;
};

// A file left out, and why.
struct SkippedFile {
  std::filesystem::path path;
  std::string reason;
};

class ImageFolder {
 public:
  explicit ImageFolder(const std::filesystem::path& root, ImageFolderOptions options = {})
      : root_(root) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(root, ec))
      throw DataError("image folder '" + root.string() + "' is not a directory");
    std::vector<fs::path> class_dirs;
    for (const auto& entry : fs::directory_iterator(root)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_directory()) continue;  // torchvision ignores files beside the classes
      if (name.starts_with('.'))
        skipped_.push_back({entry.path(), "a hidden folder"});
      else
        class_dirs.push_back(entry.path());
    }
    std::sort(class_dirs.begin(), class_dirs.end());
    if (class_dirs.empty())
      throw DataError("image folder '" + root.string() + "' has no class folders");
    for (const auto& dir : class_dirs) {
      const auto label = static_cast<std::int32_t>(classes_.size());
      classes_.push_back(dir.filename().string());
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(dir);
           it != fs::recursive_directory_iterator(); ++it) {
        const fs::directory_entry& entry = *it;
        if (entry.path().filename().string().starts_with('.')) {
          skipped_.push_back(
              {entry.path(), entry.is_directory() ? "a hidden folder" : "a hidden file"});
          if (entry.is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (entry.is_directory()) continue;
        if (!has_extension(entry.path(), options.extensions))
          skipped_.push_back(
              {entry.path(), "not an image file name (" + entry.path().extension().string() + ")"});
        else
          files.push_back(entry.path());
      }
      if (files.empty() && !options.allow_empty_classes)
        throw DataError("image folder '" + root.string() + "': class folder '" +
                        dir.filename().string() +
                        "' holds no image file (ImageFolderOptions::allow_empty_classes keeps "
                        "it as an empty class)");
      std::sort(files.begin(), files.end());
      for (auto& file : files) samples_.push_back({std::move(file), label});
    }
  }

  const std::filesystem::path& root() const { return root_; }
  const std::vector<std::string>& classes() const { return classes_; }
  const std::vector<ImageSample>& samples() const { return samples_; }
  const std::vector<SkippedFile>& skipped() const { return skipped_; }
  std::size_t size() const { return samples_.size(); }

  // Per class, round(fraction * count) samples go to validation, drawn with the seed; both
  // lists keep the folder's order.
  std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split(double validation_fraction,
                                                                      std::uint64_t seed) const {
    if (!(validation_fraction >= 0.0 && validation_fraction <= 1.0))
      throw std::invalid_argument("ImageFolder::split: the validation fraction must be in [0, 1]");
    std::mt19937_64 rng(seed);
    std::vector<bool> to_validation(samples_.size(), false);
    for (std::size_t c = 0; c < classes_.size(); ++c) {
      std::vector<std::size_t> members;
      for (std::size_t i = 0; i < samples_.size(); ++i)
        if (samples_[i].label == static_cast<std::int32_t>(c)) members.push_back(i);
      strata::shuffle(members, rng);
      const auto count = static_cast<std::size_t>(
          std::nearbyint(validation_fraction * static_cast<double>(members.size())));
      for (std::size_t k = 0; k < count; ++k) to_validation[members[k]] = true;
    }
    std::pair<std::vector<std::size_t>, std::vector<std::size_t>> out;
    for (std::size_t i = 0; i < samples_.size(); ++i)
      (to_validation[i] ? out.second : out.first).push_back(i);
    return out;
  }

  std::vector<std::size_t> all() const {
    std::vector<std::size_t> out(samples_.size());
    std::iota(out.begin(), out.end(), std::size_t{0});
    return out;
  }

 private:
  static bool has_extension(const std::filesystem::path& path,
                            const std::vector<std::string>& extensions) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
  }

  std::filesystem::path root_;
  std::vector<std::string> classes_;
  std::vector<ImageSample> samples_;
  std::vector<SkippedFile> skipped_;
};

// Writes one decoded RGB image as `out.size()` floats (a C x H x W tensor), drawing any
// randomness from `rng`.
using ImageTransform =
    std::function<void(const image::Image& rgb, std::mt19937_64& rng, std::span<float> out)>;

namespace detail {

// A transform's tensor into its place in the batch, which must be the same size.
inline void write_sample(const char* transform, const std::vector<float>& tensor,
                         std::span<float> out) {
  if (tensor.size() != out.size())
    throw std::invalid_argument(std::string(transform) + ": the image gives " +
                                std::to_string(tensor.size()) + " values, the batch holds " +
                                std::to_string(out.size()) + " per sample");
  std::copy(tensor.begin(), tensor.end(), out.begin());
}

}  // namespace detail

// A pretrained model's evaluation preprocessing (no randomness).
inline ImageTransform eval_transform(EvalPreprocessing how) {
  return [how](const image::Image& rgb, std::mt19937_64&, std::span<float> out) {
    detail::write_sample("eval_transform", image::preprocess(rgb, how), out);  // [3, size, size]
  };
}

// The ten-crop evaluation: Resize(how.resize_short), TenCrop(how.size), each crop ToTensor and
// Normalize: [10, 3, size, size] per image, so a loader's batch of n images is the model's
// input of 10 n crops (sample_size 10 * 3 * size * size); ten_crop_probabilities
// (strata/train/metrics.hpp) averages them.
inline ImageTransform ten_crop_transform(EvalPreprocessing how) {
  if (how.geometry != EvalPreprocessing::Geometry::resize_then_crop)
    throw std::invalid_argument("ten_crop_transform: needs a resize_then_crop preprocessing");
  return [how](const image::Image& rgb, std::mt19937_64&, std::span<float> out) {
    std::vector<float> crops;  // [10, 3, size, size]
    for (const image::Image& crop :
         image::ten_crop(image::resize_short_side(rgb, how.resize_short, how.resample), how.size)) {
      const auto tensor = image::to_normalized_chw(crop, how.divisor, how.mean, how.std);
      crops.insert(crops.end(), tensor.begin(), tensor.end());
    }
    detail::write_sample("ten_crop_transform", crops, out);
  };
}

// The training crop: RandomResizedCrop(size, scale, ratio) (bilinear), or RandomCrop(size,
// padding) with zero fill, the image cropped as it is (CIFAR's recipe: images about size x size).
enum class TrainCrop { random_resized, padded };

// torchvision's training recipe: the crop, RandomHorizontalFlip(0.5) when `flip`, ColorJitter
// (off while all four are 0), ToTensor, PCA lighting on the [0, 1] values when set (AlexNet's,
// as fb.resnet.torch), Normalize(mean, std). Each draws from the sample's generator in that order.
struct TrainTransformOptions {
  std::size_t size = 224;
  TrainCrop crop_kind = TrainCrop::random_resized;
  image::RandomResizedCropOptions crop{};  // TrainCrop::random_resized
  std::size_t padding = 4;                 // TrainCrop::padded, on every side
  bool flip = true;
  image::ColorJitterOptions jitter{};
  std::optional<image::PcaLightingOptions> lighting{};
  std::array<float, 3> mean = imagenet_mean, std = imagenet_std;
  float divisor = 255.0f;
};

inline ImageTransform train_transform(TrainTransformOptions o) {
  return [o](const image::Image& rgb, std::mt19937_64& rng, std::span<float> out) {
    image::Image square;
    if (o.crop_kind == TrainCrop::random_resized) {
      const auto box = image::random_resized_crop_box(rgb.width, rgb.height, o.crop, rng);
      square = image::resized_crop(rgb, box, o.size, o.size);
    } else {
      const image::Image padded = image::pad(rgb, o.padding);
      square =
          image::crop(padded, image::random_crop_box(padded.width, padded.height, o.size, rng));
    }
    if (o.flip && uniform(rng, 0.0, 1.0) < 0.5) square = image::horizontal_flip(square);
    square = image::color_jitter(std::move(square), image::color_jitter_draw(o.jitter, rng));
    const std::array<float, 3> offset =
        o.lighting
            ? image::pca_lighting_offset(o.lighting->components,
                                         image::pca_lighting_draw(o.lighting->alpha_std, rng))
            : std::array<float, 3>{};
    detail::write_sample("train_transform",
                         image::to_normalized_chw(square, o.divisor, o.mean, o.std, offset),
                         out);  // [3, size, size]
  };
}

struct ImageLoaderOptions {
  std::size_t batch = 32;
  std::size_t sample_size = 3 * 224 * 224;  // floats per transformed image: the model's input
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool drop_last = false;
  std::size_t workers = 2;
  std::size_t prefetch = 2;  // batches decoded ahead of the one being read
  OnBadImage on_bad_image = OnBadImage::error;
  // The decoder's pixel limit, and JPEG draft decoding where the transform needs only a smaller
  // image (as PIL's draft mode).
  image::ReadOptions read{};
};

// Views into the loader's buffers, valid until the next call of next() or start_epoch().
struct ImageBatch {
  std::span<const float> images;  // [size, sample_size]
  std::span<const std::int32_t> labels;
  std::span<const std::size_t> samples;  // the folder's sample indices
  std::size_t size = 0;
};

class ImageFolderLoader {
 public:
  ImageFolderLoader(const ImageFolder& folder, std::vector<std::size_t> indices,
                    ImageTransform transform, ImageLoaderOptions options)
      : folder_(folder),
        indices_(std::move(indices)),
        transform_(std::move(transform)),
        options_(options),
        slots_(std::max<std::size_t>(1, options.prefetch) + 1) {
    if (options_.batch == 0 || options_.sample_size == 0 || options_.workers == 0)
      throw std::invalid_argument(
          "ImageFolderLoader: batch, sample_size and workers must be positive");
    for (const std::size_t i : indices_)
      if (i >= folder_.size())
        throw std::invalid_argument("ImageFolderLoader: sample index " + std::to_string(i) +
                                    " is outside the folder's " + std::to_string(folder_.size()));
    for (auto& slot : slots_) {
      slot.images.resize(options_.batch * options_.sample_size);
      slot.labels.resize(options_.batch);
      slot.samples.resize(options_.batch);
      slot.valid.resize(options_.batch);
      slot.errors.resize(options_.batch);
    }
    workers_.reserve(options_.workers);
    for (std::size_t w = 0; w < options_.workers; ++w) workers_.emplace_back([this] { work(); });
  }

  ImageFolderLoader(const ImageFolderLoader&) = delete;
  ImageFolderLoader& operator=(const ImageFolderLoader&) = delete;

  ~ImageFolderLoader() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  std::size_t batches_per_epoch() const {
    const std::size_t n = indices_.size(), b = options_.batch;
    return options_.drop_last ? n / b : (n + b - 1) / b;
  }

  // Starts the next epoch (the first call starts epoch 0): a new order when shuffling, and the
  // workers begin decoding its first batches.
  void start_epoch() {
    std::unique_lock lock(mutex_);
    batch_done_.wait(lock, [&] { return in_flight_ == 0; });  // nothing of the last epoch left
    order_ = indices_;
    if (options_.shuffle) {
      std::mt19937_64 rng(options_.seed + 0x9e3779b97f4a7c15ULL * (epoch_ + 1));
      strata::shuffle(order_, rng);
    }
    if (options_.drop_last) order_.resize(batches_per_epoch() * options_.batch);
    current_epoch_ = epoch_++;
    next_task_ = 0;
    consumed_ = 0;
    for (auto& slot : slots_) slot.done = 0;
    started_ = true;
    lock.unlock();
    work_ready_.notify_all();
  }

  // The next batch of the epoch, or nullptr after its last. Rethrows, naming the file, an image
  // that could not be decoded under OnBadImage::error.
  const ImageBatch* next() {
    std::unique_lock lock(mutex_);
    if (!started_) throw std::logic_error("ImageFolderLoader::next: call start_epoch() first");
    if (consumed_ > 0) {  // the batch handed out last is free again
      consumed_batch_slot().done = 0;
      work_ready_.notify_all();
    }
    const std::size_t batch = consumed_;
    if (batch >= batches_per_epoch()) return nullptr;
    Slot& slot = slot_of(batch);
    const std::size_t size = batch_size(batch);
    batch_done_.wait(lock, [&] { return slot.done == size; });
    ++consumed_;
    std::size_t kept = 0;
    for (std::size_t k = 0; k < size; ++k) {
      if (slot.errors[k]) std::rethrow_exception(std::exchange(slot.errors[k], nullptr));
      if (!slot.valid[k]) continue;
      if (kept != k) {
        std::copy_n(&slot.images[k * options_.sample_size], options_.sample_size,
                    &slot.images[kept * options_.sample_size]);
        slot.labels[kept] = slot.labels[k];
        slot.samples[kept] = slot.samples[k];
      }
      ++kept;
    }
    slot.batch = {{slot.images.data(), kept * options_.sample_size},
                  {slot.labels.data(), kept},
                  {slot.samples.data(), kept},
                  kept};
    slot.done = size;  // held until the next call frees it
    return &slot.batch;
  }

  // Images dropped under OnBadImage::skip, and why, in the order they were met.
  std::vector<SkippedFile> skipped() const {
    const std::lock_guard lock(mutex_);
    return skipped_;
  }

 private:
  struct Slot {
    std::vector<float> images;
    std::vector<std::int32_t> labels;
    std::vector<std::size_t> samples;
    std::vector<char> valid;
    std::vector<std::exception_ptr> errors;
    std::size_t done = 0;
    ImageBatch batch;
  };

  std::size_t batch_size(std::size_t batch) const {
    return std::min(options_.batch, order_.size() - batch * options_.batch);
  }
  Slot& slot_of(std::size_t batch) { return slots_[batch % slots_.size()]; }
  Slot& consumed_batch_slot() { return slot_of(consumed_ - 1); }

  // A task (one sample) may start once its batch's slot is no longer in use: at most
  // slots - 1 batches ahead of the one being read.
  bool task_available() const {
    return started_ && next_task_ < order_.size() &&
           next_task_ / options_.batch + 1 < consumed_ + slots_.size();
  }

  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      work_ready_.wait(lock, [&] { return stopping_ || task_available(); });
      if (stopping_) return;
      const std::size_t task = next_task_++, batch = task / options_.batch;
      const std::size_t k = task % options_.batch, sample = order_[task];
      const std::uint64_t epoch = current_epoch_;
      Slot& slot = slot_of(batch);
      ++in_flight_;
      lock.unlock();

      std::exception_ptr error;
      std::string reason;
      bool valid = true;
      try {
        const image::Image rgb = image::read_rgb(folder_.samples()[sample].path, options_.read);
        std::mt19937_64 rng(options_.seed ^ (0x9e3779b97f4a7c15ULL * (epoch + 1)) ^
                            (0xbf58476d1ce4e5b9ULL * (sample + 1)));
        transform_(rgb, rng, {&slot.images[k * options_.sample_size], options_.sample_size});
      } catch (const image::ImageError& e) {
        valid = false;
        if (options_.on_bad_image == OnBadImage::error)
          error = std::current_exception();
        else
          reason = e.what();
      } catch (...) {
        valid = false;
        error = std::current_exception();
      }

      lock.lock();
      slot.labels[k] = folder_.samples()[sample].label;
      slot.samples[k] = sample;
      slot.valid[k] = valid;
      slot.errors[k] = error;
      if (!valid && !error) skipped_.push_back({folder_.samples()[sample].path, reason});
      --in_flight_;
      ++slot.done;
      batch_done_.notify_all();
    }
  }

  const ImageFolder& folder_;
  std::vector<std::size_t> indices_, order_;
  ImageTransform transform_;
  ImageLoaderOptions options_;
  std::vector<Slot> slots_;
  std::vector<SkippedFile> skipped_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_, batch_done_;
  std::size_t next_task_ = 0, consumed_ = 0, in_flight_ = 0;
  std::uint64_t epoch_ = 0, current_epoch_ = 0;
  bool started_ = false, stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace strata::data
