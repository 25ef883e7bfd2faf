// Transfer learning on Fashion-MNIST: a CNN trained on classes 0-4 (T-shirt, trouser, pullover,
// dress, coat) learns classes 5-9 (sandal, shirt, sneaker, bag, ankle boot) from 50 labelled
// images per class, three ways:
//   (a) the pre-trained network frozen as a feature extractor, a new linear head trained;
//   (b) the last block fine-tuned with a 10x lower learning rate than the new head (parameter
//       groups), the first two blocks frozen;
//   (c) the same network trained from scratch on the 250 images.
// Accuracies are on the 5,000 test images of classes 5-9.
//
//   transfer_learning [--epochs 3] [--batch 64] [--lr 0.001] [--seed 1] [--threads 2]
//                     [--train-limit N] [--checkpoint backbone.ckpt] [--data-dir DIR]
// --epochs, --batch, --lr and --train-limit apply to the pre-training (Adam); --checkpoint saves
// the pre-trained network and its optimizer after each pre-training epoch.
#include <chrono>
#include <cstdint>
#include <cstdio>

#include <strata/strata.hpp>

#include "training.hpp"

namespace st = strata;

namespace {

// Three conv blocks (28 -> 14 -> 7 -> global pooling) and a classifier; the blocks are named so
// that freezing and parameter groups can address them.
template <std::size_t C>
using ConvBlock =
    st::Sequential<st::Conv2d<C, 3, st::Pad<1>, st::NoBias>, st::BatchNorm2d<>, st::ReLU>;
using Backbone = st::Sequential<
    st::Input<1, 28, 28>,
    st::Named<"block1", st::Sequential<ConvBlock<16>, st::MaxPool2d<2>>>,                // 16x14x14
    st::Named<"block2", st::Sequential<ConvBlock<32>, st::MaxPool2d<2>>>,                // 32x7x7
    st::Named<"block3", st::Sequential<ConvBlock<64>, st::GlobalAvgPool, st::Flatten>>,  // 64
    st::Named<"fc", st::Linear<5>>>;
// A new head under a new name, so that copy_matching leaves it as initialised.
using Transfer = st::replace_head<Backbone, st::Named<"head", st::Linear<5>>>;

constexpr std::size_t shots = 50;            // labelled images per new class
constexpr std::size_t few_shot_epochs = 40;  // over 250 images: 400 steps of 25 images
constexpr std::size_t few_shot_batch = 25;

// Trains on a small set without printing; `training_mode` false keeps BatchNorm on the running
// statistics of the pre-training, as when a backbone is used as a fixed feature extractor.
template <class Model, class Optimizer>
void fit(Model& model, Optimizer& optimizer, const st::data::Dataset& data, bool training_mode,
         std::uint64_t seed) {
  model.train(training_mode);
  st::data::Loader loader{data, {.batch = few_shot_batch, .shuffle = true, .seed = seed}};
  for (std::size_t epoch = 0; epoch < few_shot_epochs; ++epoch)
    for (const auto& batch : loader) {
      const auto logits = model.forward(batch.images);  // [25, 5]
      model.backward(st::cross_entropy(logits, batch.labels));
      optimizer.step();
    }
}

double seconds_since(examples::Clock::time_point start) {
  return std::chrono::duration<double>(examples::Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  examples::Flags defaults;
  defaults.epochs = 3;
  const examples::Flags flags = examples::parse(argc, argv, "transfer_learning", defaults);
  st::set_threads(flags.threads);
  const auto start = examples::Clock::now();
  const examples::FashionMnist data = examples::load_fashion_mnist(flags, "transfer_learning");

  const st::data::Dataset old_train = st::data::select_classes(data.train, {0, 1, 2, 3, 4});
  const st::data::Dataset old_test = st::data::select_classes(data.test, {0, 1, 2, 3, 4});
  const st::data::Dataset new_train = st::data::select_classes(data.train, {5, 6, 7, 8, 9});
  const st::data::Dataset new_test = st::data::select_classes(data.test, {5, 6, 7, 8, 9});
  const st::data::Dataset few =
      st::data::subset(new_train, st::data::sample_per_class(new_train, shots, flags.seed));
  std::printf(
      "pre-training on classes 0-4: %zu images; new classes 5-9: %zu labelled images "
      "(%zu per class), %zu test images; %zu threads\n\n%s\n",
      old_train.count, few.count, shots, new_test.count, flags.threads,
      st::summary<Backbone>().c_str());

  st::Model<Backbone> pretrained{st::seed{flags.seed}};
  {
    st::Adam optimizer{pretrained.parameters(), {.lr = flags.lr}};
    st::data::Loader loader{old_train, {.batch = flags.batch, .shuffle = true, .seed = flags.seed}};
    examples::train(pretrained, optimizer, loader, old_test, flags);
  }
  const double pretrain_seconds = seconds_since(start);

  // (a) Everything frozen but the new head.
  st::Model<Transfer> frozen{st::seed{flags.seed + 1}};
  std::printf("\ncopy_matching: %s\n", st::copy_matching(pretrained, frozen).str().c_str());
  st::freeze(frozen, "");
  st::unfreeze(frozen, "head.");
  st::Adam head_only{frozen.parameters(), {.lr = 1e-2f}};
  fit(frozen, head_only, few, false, flags.seed);

  // (b) Blocks 1-2 frozen (layers [0, 2)), block 3 at a tenth of the head's learning rate.
  st::Model<Transfer> tuned{st::seed{flags.seed + 1}};
  st::copy_matching(pretrained, tuned);
  st::freeze_layers<0, 2>(tuned);
  st::Adam grouped{st::groups(tuned, {{.prefix = "head."}, {.prefix = "", .lr = 1e-3f}}),
                   {.lr = 1e-2f}};
  // In training mode BatchNorm re-estimates its statistics on the new classes, also in the
  // frozen blocks; their weights stay as pre-trained.
  fit(tuned, grouped, few, true, flags.seed);

  // (c) The same network, every parameter trained from its initialisation on the 250 images.
  st::Model<Transfer> scratch{st::seed{flags.seed + 1}};
  st::Adam all{scratch.parameters(), {.lr = 1e-3f}};
  fit(scratch, all, few, true, flags.seed);

  std::printf("\ntest accuracy on classes 5-9 (%zu images), trained on %zu labelled images:\n",
              new_test.count, few.count);
  std::printf("  (a) frozen backbone, new linear head     %6.2f%%\n",
              100.0 * examples::evaluate(frozen, new_test, 256));
  std::printf("  (b) last block fine-tuned, lr 1e-3/1e-2  %6.2f%%\n",
              100.0 * examples::evaluate(tuned, new_test, 256));
  std::printf("  (c) from scratch                         %6.2f%%\n",
              100.0 * examples::evaluate(scratch, new_test, 256));
  std::printf("\npre-training %.1f s, total %.1f s\n", pretrain_seconds, seconds_since(start));
  return 0;
}
