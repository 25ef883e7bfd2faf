// What the Fashion-MNIST examples share: command-line flags, loading the data set, a live
// progress bar, one training epoch, the test-set evaluation (top-1, top-5, confusion matrix),
// and on request a metrics CSV and pictures (docs/visualisation.md).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <strata/image/io.hpp>
#include <strata/image/visualize.hpp>
#include <strata/strata.hpp>
#include <strata/train/metrics.hpp>

#include "device.hpp"

namespace examples {

namespace st = strata;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::size_t epochs = 3;
  std::size_t batch = 64;
  float lr = 1e-3f;
  std::uint64_t seed = 1;
  std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::filesystem::path data_dir = "/usr/share/datasets/fashion-mnist";
  std::filesystem::path checkpoint;
  std::size_t train_limit = 0;  // 0: the whole training set
  bool no_skip = false;         // resnet_fashion_mnist only
  std::size_t shots = 50;       // transfer_learning only: labelled images per new class
  std::filesystem::path metrics_csv, predictions_png, feature_maps_png, filters_png;
  std::size_t feature_layer = 1;  // the layer whose output --feature-maps-png draws
  std::string device = "cpu";     // the backend: cpu, or cuda in a build with CUDA
};

inline constexpr std::array<std::string_view, 10> fashion_mnist_classes{
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// The names of a model's classes: Fashion-MNIST's first ones (a model of classes 0-4 has 5).
template <class Model>
std::vector<std::string_view> class_names() {
  constexpr std::size_t classes = std::min(Model::output_shape::size, fashion_mnist_classes.size());
  return {fashion_mnist_classes.begin(), fashion_mnist_classes.begin() + classes};
}

[[noreturn]] inline void usage(std::string_view program, const std::string& problem) {
  std::cerr << program << ": " << problem << "\n"
            << "usage: " << program
            << " [--epochs N] [--batch N] [--lr X] [--seed N] [--threads N]\n"
            << "       [--device cpu|cuda] [--data-dir DIR] [--checkpoint FILE] [--train-limit N]"
            << (program == "resnet_fashion_mnist" ? " [--no-skip]" : "")
            << (program == "transfer_learning" ? " [--shots N]" : "") << "\n"
            << "       [--metrics-csv FILE] [--predictions-png FILE] [--feature-maps-png FILE]\n"
            << "       [--feature-layer N] [--filters-png FILE]\n";
  std::exit(2);
}

// Parses the flags over the example's defaults.
inline Flags parse(int argc, char** argv, std::string_view program, Flags flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (name == "--help" || name == "-h") usage(program, "train on Fashion-MNIST");
    if (name == "--no-skip" && program == "resnet_fashion_mnist") {
      flags.no_skip = true;
      continue;
    }
    if (i + 1 >= argc) usage(program, "missing value after " + std::string(name));
    const std::string value = argv[++i];
    try {
      if (name == "--epochs")
        flags.epochs = std::stoul(value);
      else if (name == "--batch")
        flags.batch = std::stoul(value);
      else if (name == "--lr")
        flags.lr = std::stof(value);
      else if (name == "--seed")
        flags.seed = std::stoull(value);
      else if (name == "--threads")
        flags.threads = std::stoul(value);
      else if (name == "--data-dir")
        flags.data_dir = value;
      else if (name == "--checkpoint")
        flags.checkpoint = value;
      else if (name == "--train-limit")
        flags.train_limit = std::stoul(value);
      else if (name == "--shots" && program == "transfer_learning")
        flags.shots = std::stoul(value);
      else if (name == "--metrics-csv")
        flags.metrics_csv = value;
      else if (name == "--predictions-png")
        flags.predictions_png = value;
      else if (name == "--feature-maps-png")
        flags.feature_maps_png = value;
      else if (name == "--feature-layer")
        flags.feature_layer = std::stoul(value);
      else if (name == "--filters-png")
        flags.filters_png = value;
      else if (name == "--device")
        flags.device = value;
      else
        usage(program, "unknown flag " + std::string(name));
    } catch (const std::logic_error&) {
      usage(program, "bad value '" + value + "' for " + std::string(name));
    }
  }
  if (flags.batch == 0 || flags.threads == 0)
    usage(program, "--batch and --threads must be positive");
  if (const std::string problem = device_problem(program, flags.device); !problem.empty())
    usage(program, problem);
  return flags;
}

struct FashionMnist {
  st::data::Dataset train, test;
};

// Fashion-MNIST normalised with its training-set mean and standard deviation; exits with a
// message saying how to get the data when it is missing.
inline FashionMnist load_fashion_mnist(const Flags& flags, std::string_view program) {
  const st::data::Normalize normalize{0.2860f, 0.3530f};
  FashionMnist data;
  try {
    data.train = st::data::load_mnist_format(flags.data_dir, st::data::Split::train, normalize);
    data.test = st::data::load_mnist_format(flags.data_dir, st::data::Split::test, normalize);
  } catch (const std::exception& error) {
    std::cerr << program << ": cannot load the data set: " << error.what() << "\n"
              << "Install it with `apt-get install dataset-fashion-mnist`, or point --data-dir "
                 "at a directory holding the four IDX files.\n";
    std::exit(1);
  }
  if (flags.train_limit != 0 && flags.train_limit < data.train.count) {
    data.train.count = flags.train_limit;
    data.train.images.resize(data.train.count * data.train.image_size());
    data.train.labels.resize(data.train.count);
  }
  return data;
}

// One line, redrawn in place on a terminal; on a pipe (CI logs) a line every tenth of the epoch.
class Progress {
 public:
  Progress(std::size_t epoch, std::size_t epochs, std::size_t steps)
      : epoch_(epoch),
        epochs_(epochs),
        steps_(steps),
        start_(Clock::now()),
        interactive_(isatty(fileno(stderr)) != 0) {}

  void update(std::size_t step, double loss, double accuracy, std::size_t images) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const bool last = step == steps_;
    if (!interactive_ && !last && step % std::max<std::size_t>(1, steps_ / 10) != 0) return;
    constexpr int width = 30;
    const int filled = static_cast<int>(width * step / steps_);
    const double eta = seconds / double(step) * double(steps_ - step);
    std::fprintf(
        stderr, "%sepoch %zu/%zu [%.*s%*s] %5zu/%zu loss %.4f acc %5.2f%% %6.0f img/s ETA %3.0fs%s",
        interactive_ ? "\r" : "", epoch_, epochs_, filled,
        "==============================", width - filled, "", step, steps_, loss, 100.0 * accuracy,
        double(images) / seconds, eta, interactive_ && !last ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  std::size_t epoch_, epochs_, steps_;
  Clock::time_point start_;
  bool interactive_;
};

struct TestResult {
  st::Evaluation metrics;
  double loss = 0;
};

// The test set's mean loss, top-1 and top-5 accuracy and confusion matrix, in eval mode.
template <class Model>
TestResult test_metrics(Model& model, const st::data::Dataset& test, std::size_t batch) {
  model.eval();
  TestResult result{st::Evaluation(Model::output_shape::size, 5)};
  for (const auto& b : st::data::Loader{test, {.batch = batch, .shuffle = false}}) {
    const auto logits = model.forward(b.images);  // [N, classes]
    result.loss += st::cross_entropy(logits, b.labels).value * double(b.size);
    result.metrics.add(logits, b.labels);
  }
  result.loss /= double(test.count);
  model.train();
  return result;
}

// Top-1 test accuracy.
template <class Model>
double evaluate(Model& model, const st::data::Dataset& test, std::size_t batch) {
  return test_metrics(model, test, batch).metrics.top1();
}

// --metrics-csv: a "train" row every `every` steps (loss, accuracy and images/s since the previous
// row, and the learning rate of the last step) and a "test" row after every epoch.
class MetricsCsv {
 public:
  MetricsCsv(const std::filesystem::path& path, std::size_t every) : every_(every) {
    if (path.empty()) return;
    out_.open(path);
    if (!out_) throw std::runtime_error("cannot write the metrics file '" + path.string() + "'");
    out_ << "epoch,step,split,loss,accuracy,top5_accuracy,images_per_s,lr\n";
  }

  // Called after every training step.
  void train_step(std::size_t epoch, std::size_t step, double loss, std::size_t correct,
                  std::size_t images, float lr) {
    if (!out_.is_open()) return;
    loss_ += loss * double(images);
    correct_ += correct;
    images_ += images;
    if (step % every_ != 0) return;
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    out_ << epoch << ',' << step << ",train," << loss_ / double(images_) << ','
         << double(correct_) / double(images_) << ",," << double(images_) / seconds << ',' << lr
         << '\n';
    loss_ = 0;
    correct_ = images_ = 0;
    start_ = Clock::now();
  }

  void test(std::size_t epoch, std::size_t step, const TestResult& result, float lr) {
    if (!out_.is_open()) return;
    out_ << epoch << ',' << step << ",test," << result.loss << ',' << result.metrics.top1() << ','
         << result.metrics.topk() << ",," << lr << std::endl;
    start_ = Clock::now();  // the evaluation's time is not training throughput
  }

 private:
  std::ofstream out_;
  std::size_t every_, correct_ = 0, images_ = 0;
  double loss_ = 0;
  Clock::time_point start_ = Clock::now();
};

// --predictions-png, --feature-maps-png, --filters-png: drawn from the first test images.
template <class Model>
void write_pictures(Model& model, const st::data::Dataset& test, const Flags& flags) {
  namespace img = st::image;
  if (flags.predictions_png.empty() && flags.feature_maps_png.empty() && flags.filters_png.empty())
    return;
  const std::size_t count = std::min<std::size_t>(36, test.count);
  const std::span<const float> images(test.images.data(), count * test.image_size());
  model.eval();
  const auto logits = model.forward(images);  // [count, classes]
  const auto write = [](const std::filesystem::path& path, const img::Image& picture) {
    img::write_png(path, picture);
    std::printf("  wrote %s (%zux%zu)\n", path.string().c_str(), picture.width, picture.height);
  };
  if (!flags.predictions_png.empty()) {
    write(flags.predictions_png,
          img::predictions(images, count, test.channels, test.rows, test.cols, test.labels,
                           logits.read(), class_names<Model>(),
                           {.columns = 6, .scale = 3, .gap = 6}));
  }
  if (!flags.feature_maps_png.empty())
    write(flags.feature_maps_png,
          img::feature_maps(model, flags.feature_layer, 0, {.scale = 3, .gap = 3}));
  if (!flags.filters_png.empty())
    write(flags.filters_png,
          img::filters(model, model.parameters()[0].name, {.scale = 12, .gap = 4}));
  model.train();
}

// Trains `epochs` epochs, printing the test accuracy after each (and after the last, top-5 and
// the confusion matrix) and saving a checkpoint (model and optimizer) when flags.checkpoint is
// set; writes the metrics CSV and pictures the flags ask for. before_step(step) runs before every
// optimizer step (a learning-rate schedule).
template <class Model, class Optimizer>
void train(Model& model, Optimizer& optimizer, st::data::Loader& loader,
           const st::data::Dataset& test, const Flags& flags,
           const std::function<void(std::size_t)>& before_step = {}) {
  std::size_t global_step = 0;
  MetricsCsv csv(flags.metrics_csv, 50);
  for (std::size_t epoch = 1; epoch <= flags.epochs; ++epoch) {
    Progress progress(epoch, flags.epochs, loader.batches_per_epoch());
    const auto start = Clock::now();
    double loss_sum = 0;
    std::size_t seen = 0, correct = 0, step = 0;
    for (const auto& batch : loader) {
      const auto logits = model.forward(batch.images);  // [N, 10]
      const st::Loss loss = st::cross_entropy(logits, batch.labels);
      const std::size_t batch_correct = st::count_correct(logits, batch.labels);
      model.backward(loss);
      if (before_step) before_step(global_step);
      optimizer.step();
      ++global_step;
      csv.train_step(epoch, global_step, loss.value, batch_correct, batch.size,
                     optimizer.options().lr);
      correct += batch_correct;
      loss_sum += loss.value * double(batch.size);
      seen += batch.size;
      progress.update(++step, loss_sum / double(seen), double(correct) / double(seen), seen);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const TestResult result = test_metrics(model, test, 256);
    csv.test(epoch, global_step, result, optimizer.options().lr);
    std::printf(
        "epoch %zu: train loss %.4f, train accuracy %.2f%%, test accuracy %.2f%%, "
        "%.1f s (%.0f images/s)\n",
        epoch, loss_sum / double(seen), 100.0 * double(correct) / double(seen),
        100.0 * result.metrics.top1(), seconds, double(seen) / seconds);
    if (epoch == flags.epochs)
      std::printf("test top-1 %.2f%%, top-5 %.2f%%; confusion matrix:\n%s\n",
                  100.0 * result.metrics.top1(), 100.0 * result.metrics.topk(),
                  result.metrics.confusion_table(class_names<Model>()).c_str());
    if (!flags.checkpoint.empty()) {
      // Model and optimizer state: a later run can resume exactly where this epoch ended.
      st::save_checkpoint(flags.checkpoint, model, optimizer);
      std::printf("  checkpoint saved to %s\n", flags.checkpoint.string().c_str());
    }
    std::fflush(stdout);
  }
  write_pictures(model, test, flags);
}

}  // namespace examples
