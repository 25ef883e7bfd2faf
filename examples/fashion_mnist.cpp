// The main job: the seed report's SimpleCNN, defined as a type, trained on Fashion-MNIST with
// Adam, evaluated on the test set after every epoch, and saved as a checkpoint (parameters and
// optimizer state) after every epoch.
//
//   fashion_mnist [--epochs 3] [--batch 64] [--lr 0.001] [--seed 1] [--threads 2] [--device cpu]
//                 [--data-dir /usr/share/datasets/fashion-mnist] [--checkpoint simple_cnn.ckpt]
//                 [--train-limit N]   (train on the first N images only: a quick smoke run)
//                 [--metrics-csv FILE] [--predictions-png FILE] [--feature-maps-png FILE]
//                 [--feature-layer 1] [--filters-png FILE]   (docs/visualisation.md)
// After the last epoch it prints the test top-1 and top-5 accuracy and the confusion matrix.
#include <cstdio>

#include <strata/strata.hpp>

#include "training.hpp"

namespace st = strata;
using Net = st::models::SimpleCNN<10>;

template <class Backend>
void run(const examples::Flags& flags, const examples::FashionMnist& data) {
  st::Model<Net, Backend> model{st::seed{flags.seed}};
  st::Adam optimizer{model.parameters(), {.lr = flags.lr}};
  st::data::Loader loader{data.train, {.batch = flags.batch, .shuffle = true, .seed = flags.seed}};
  examples::train(model, optimizer, loader, data.test, flags);
}

int main(int argc, char** argv) {
  examples::Flags defaults;
  defaults.checkpoint = "simple_cnn.ckpt";
  const examples::Flags flags = examples::parse(argc, argv, "fashion_mnist", defaults);
  st::set_threads(flags.threads);
  const auto data = examples::load_fashion_mnist(flags, "fashion_mnist");

  std::printf(
      "SimpleCNN on Fashion-MNIST: %zu training and %zu test images, on %s (%zu threads)\n\n%s\n",
      data.train.count, data.test.count, flags.device.c_str(), flags.threads,
      st::summary<Net>().c_str());
  examples::on_device(flags.device, [&]<class Backend>() { run<Backend>(flags, data); });
  return 0;
}
