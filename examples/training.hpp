// What the Fashion-MNIST examples share: command-line flags, loading the data set, a live
// progress bar, one training epoch and the test-set evaluation.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <strata/strata.hpp>

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
};

[[noreturn]] inline void usage(std::string_view program, const std::string& problem) {
  std::cerr << program << ": " << problem << "\n"
            << "usage: " << program
            << " [--epochs N] [--batch N] [--lr X] [--seed N] [--threads N]\n"
            << "       [--data-dir DIR] [--checkpoint FILE] [--train-limit N]"
            << (program == "resnet_fashion_mnist" ? " [--no-skip]" : "") << "\n";
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
      else
        usage(program, "unknown flag " + std::string(name));
    } catch (const std::logic_error&) {
      usage(program, "bad value '" + value + "' for " + std::string(name));
    }
  }
  if (flags.batch == 0 || flags.threads == 0)
    usage(program, "--batch and --threads must be positive");
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

template <class Model>
double evaluate(Model& model, const st::data::Dataset& test, std::size_t batch) {
  model.eval();
  std::size_t correct = 0;
  for (const auto& b : st::data::Loader{test, {.batch = batch, .shuffle = false}})
    correct += st::count_correct(model.forward(b.images), b.labels);
  model.train();
  return double(correct) / double(test.count);
}

// Trains `epochs` epochs, printing the test accuracy after each and saving a checkpoint (model
// and optimizer) when flags.checkpoint is set. before_step(step) runs before every optimizer
// step (a learning-rate schedule).
template <class Model, class Optimizer>
void train(Model& model, Optimizer& optimizer, st::data::Loader& loader,
           const st::data::Dataset& test, const Flags& flags,
           const std::function<void(std::size_t)>& before_step = {}) {
  std::size_t global_step = 0;
  for (std::size_t epoch = 1; epoch <= flags.epochs; ++epoch) {
    Progress progress(epoch, flags.epochs, loader.batches_per_epoch());
    const auto start = Clock::now();
    double loss_sum = 0;
    std::size_t seen = 0, correct = 0, step = 0;
    for (const auto& batch : loader) {
      const auto logits = model.forward(batch.images);  // [N, 10]
      const st::Loss loss = st::cross_entropy(logits, batch.labels);
      correct += st::count_correct(logits, batch.labels);
      model.backward(loss);
      if (before_step) before_step(global_step);
      optimizer.step();
      ++global_step;
      loss_sum += loss.value * double(batch.size);
      seen += batch.size;
      progress.update(++step, loss_sum / double(seen), double(correct) / double(seen), seen);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double accuracy = evaluate(model, test, 256);
    std::printf(
        "epoch %zu: train loss %.4f, train accuracy %.2f%%, test accuracy %.2f%%, "
        "%.1f s (%.0f images/s)\n",
        epoch, loss_sum / double(seen), 100.0 * double(correct) / double(seen), 100.0 * accuracy,
        seconds, double(seen) / seconds);
    if (!flags.checkpoint.empty()) {
      // Model and optimizer state: a later run can resume exactly where this epoch ended.
      st::save_checkpoint(flags.checkpoint, model, optimizer);
      std::printf("  checkpoint saved to %s\n", flags.checkpoint.string().c_str());
    }
    std::fflush(stdout);
  }
}

}  // namespace examples
