// The main job: the seed report's SimpleCNN, defined as a type, trained on Fashion-MNIST with
// Adam, evaluated on the test set after every epoch, and saved as a checkpoint (parameters and
// optimizer state) after every epoch.
//
//   fashion_mnist [--epochs 3] [--batch 64] [--lr 0.001] [--seed 1] [--threads 2]
//                 [--data-dir /usr/share/datasets/fashion-mnist] [--checkpoint simple_cnn.ckpt]
//                 [--train-limit N]   (train on the first N images only: a quick smoke run)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <strata/strata.hpp>

namespace st = strata;
using Net = st::models::SimpleCNN<10>;
using Clock = std::chrono::steady_clock;

namespace {

struct Flags {
  std::size_t epochs = 3;
  std::size_t batch = 64;
  float lr = 1e-3f;
  std::uint64_t seed = 1;
  std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::filesystem::path data_dir = "/usr/share/datasets/fashion-mnist";
  std::filesystem::path checkpoint = "simple_cnn.ckpt";
  std::size_t train_limit = 0;  // 0: the whole training set
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "fashion_mnist: " << problem << "\n"
            << "usage: fashion_mnist [--epochs N] [--batch N] [--lr X] [--seed N] [--threads N]\n"
            << "                     [--data-dir DIR] [--checkpoint FILE] [--train-limit N]\n";
  std::exit(2);
}

Flags parse(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (name == "--help" || name == "-h") usage("train SimpleCNN on Fashion-MNIST");
    if (i + 1 >= argc) usage("missing value after " + std::string(name));
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
        usage("unknown flag " + std::string(name));
    } catch (const std::logic_error&) {
      usage("bad value '" + value + "' for " + std::string(name));
    }
  }
  if (flags.batch == 0 || flags.threads == 0) usage("--batch and --threads must be positive");
  return flags;
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

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = parse(argc, argv);
  st::set_threads(flags.threads);

  // Fashion-MNIST's pixel mean and standard deviation over the training set.
  const st::data::Normalize normalize{0.2860f, 0.3530f};
  st::data::Dataset train, test;
  try {
    train = st::data::load_mnist_format(flags.data_dir, st::data::Split::train, normalize);
    test = st::data::load_mnist_format(flags.data_dir, st::data::Split::test, normalize);
    if (flags.train_limit != 0 && flags.train_limit < train.count) {
      train.count = flags.train_limit;
      train.images.resize(train.count * train.image_size());
      train.labels.resize(train.count);
    }
  } catch (const std::exception& error) {
    std::cerr << "fashion_mnist: cannot load the data set: " << error.what() << "\n"
              << "Install it with `apt-get install dataset-fashion-mnist`, or point --data-dir "
                 "at a directory holding the four IDX files.\n";
    return 1;
  }

  std::printf("SimpleCNN on Fashion-MNIST: %zu training and %zu test images, %zu threads\n\n%s\n",
              train.count, test.count, flags.threads, st::summary<Net>().c_str());

  st::Model<Net> model{st::seed{flags.seed}};
  st::Adam optimizer{model.parameters(), {.lr = flags.lr}};
  st::data::Loader loader{train, {.batch = flags.batch, .shuffle = true, .seed = flags.seed}};

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
      optimizer.step();
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
    // Model and optimizer state: a later run can resume exactly where this epoch ended.
    st::save_checkpoint(flags.checkpoint, model, optimizer);
    std::printf("  checkpoint saved to %s\n", flags.checkpoint.string().c_str());
    std::fflush(stdout);
  }
  return 0;
}
