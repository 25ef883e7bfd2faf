// Transfer learning on Fashion-MNIST: a CNN trained on classes 0-4 (T-shirt, trouser, pullover,
// dress, coat) learns classes 5-9 (sandal, shirt, sneaker, bag, ankle boot) from 50 labelled
// images per class, three ways:
//   (a) the pre-trained network frozen as a feature extractor, a new linear head trained;
//   (b) the last block fine-tuned with a 10x lower learning rate than the new head (parameter
//       groups), the first two blocks frozen;
//   (c) the same network trained from scratch on the 250 images.
// Each way gets the same search: its learning rate (the new head's, for (a) and (b)) from
// {1e-3, 3e-3, 1e-2}, chosen on 1,000 other training images of classes 5-9 (200 per class, not
// among the 250), never on the test set. Accuracies are on the 5,000 test images of classes 5-9.
//
//   transfer_learning [--epochs 3] [--batch 64] [--lr 0.001] [--seed 1] [--threads 2]
//                     [--train-limit N] [--checkpoint backbone.ckpt] [--data-dir DIR]
//                     [--shots 50] [--device cpu|cuda]
// --epochs, --batch, --lr and --train-limit apply to the pre-training (Adam); --checkpoint saves
// the pre-trained network and its optimizer after each pre-training epoch; --shots sets the
// labelled images per new class (the few-shot phase keeps its 400 steps of 25 images).
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

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

constexpr std::size_t validation_per_class = 200;
constexpr std::size_t few_shot_steps = 400;  // 40 epochs of 50 images per class
constexpr std::size_t few_shot_batch = 25;
constexpr std::array<float, 3> learning_rates{1e-3f, 3e-3f, 1e-2f};

// Trains on a small set without printing; `training_mode` false keeps BatchNorm on the running
// statistics of the pre-training, as when a backbone is used as a fixed feature extractor.
template <class Model, class Optimizer>
void fit(Model& model, Optimizer& optimizer, const st::data::Dataset& data, bool training_mode,
         std::uint64_t seed) {
  model.train(training_mode);
  st::data::Loader loader{data, {.batch = few_shot_batch, .shuffle = true, .seed = seed}};
  std::size_t steps = 0;
  while (steps < few_shot_steps)
    for (const auto& batch : loader) {                  // an epoch
      const auto logits = model.forward(batch.images);  // [25, 5]
      model.backward(st::cross_entropy(logits, batch.labels));
      optimizer.step();
      if (++steps == few_shot_steps) break;
    }
}

// The images of `data` that are not in `taken` (indices into data).
st::data::Dataset all_but(const st::data::Dataset& data, const std::vector<std::size_t>& taken) {
  std::vector<bool> is_taken(data.count, false);
  for (const std::size_t i : taken) is_taken[i] = true;
  std::vector<std::size_t> rest;
  for (std::size_t i = 0; i < data.count; ++i)
    if (!is_taken[i]) rest.push_back(i);
  return st::data::subset(data, rest);
}

// One way of learning the new classes, trained at every learning rate of the grid; the model
// with the best validation accuracy is kept.
template <class Backend>
struct Selected {
  std::unique_ptr<st::Model<Transfer, Backend>> model;
  float lr = 0;
  double validation_accuracy = -1;
};

template <class Backend, class Train>
Selected<Backend> select_learning_rate(const st::data::Dataset& validation, Train&& train) {
  Selected<Backend> best;
  for (const float lr : learning_rates) {
    std::unique_ptr<st::Model<Transfer, Backend>> model = train(lr);
    const double accuracy = examples::evaluate(*model, validation, 256);
    if (accuracy > best.validation_accuracy) best = {std::move(model), lr, accuracy};
  }
  return best;
}

double seconds_since(examples::Clock::time_point start) {
  return std::chrono::duration<double>(examples::Clock::now() - start).count();
}

// The data of the experiment: pre-training on the old classes, the few labelled images of the
// new ones, the validation images that choose each way's learning rate, the new classes' tests.
struct Splits {
  st::data::Dataset old_train, old_test, few, validation, new_test;
};

template <class Backend>
void run(const examples::Flags& flags, const Splits& data, examples::Clock::time_point start) {
  st::Model<Backbone, Backend> pretrained{st::seed{flags.seed}};
  {
    st::Adam optimizer{pretrained.parameters(), {.lr = flags.lr}};
    st::data::Loader loader{data.old_train,
                            {.batch = flags.batch, .shuffle = true, .seed = flags.seed}};
    examples::train(pretrained, optimizer, loader, data.old_test, flags);
  }
  const double pretrain_seconds = seconds_since(start);

  {
    st::Model<Transfer, Backend> probe;
    std::printf("\ncopy_matching: %s\n", st::copy_matching(pretrained, probe).str().c_str());
  }

  // (a) Everything frozen but the new head.
  const auto frozen = select_learning_rate<Backend>(data.validation, [&](float lr) {
    auto model = std::make_unique<st::Model<Transfer, Backend>>(st::seed{flags.seed + 1});
    st::copy_matching(pretrained, *model);
    st::freeze(*model, "");
    st::unfreeze(*model, "head.");
    st::Adam head_only{model->parameters(), {.lr = lr}};
    fit(*model, head_only, data.few, false, flags.seed);
    return model;
  });

  // (b) Blocks 1-2 frozen (layers [0, 2)), block 3 at a tenth of the head's learning rate.
  const auto tuned = select_learning_rate<Backend>(data.validation, [&](float lr) {
    auto model = std::make_unique<st::Model<Transfer, Backend>>(st::seed{flags.seed + 1});
    st::copy_matching(pretrained, *model);
    st::freeze_layers<0, 2>(*model);
    st::Adam grouped{st::groups(*model, {{.prefix = "head."}, {.prefix = "", .lr = lr / 10}}),
                     {.lr = lr}};
    // In training mode BatchNorm re-estimates its statistics on the new classes, also in the
    // frozen blocks; their weights stay as pre-trained.
    fit(*model, grouped, data.few, true, flags.seed);
    return model;
  });

  // (c) The same network, every parameter trained from its initialisation on the 250 images.
  const auto scratch = select_learning_rate<Backend>(data.validation, [&](float lr) {
    auto model = std::make_unique<st::Model<Transfer, Backend>>(st::seed{flags.seed + 1});
    st::Adam all{model->parameters(), {.lr = lr}};
    fit(*model, all, data.few, true, flags.seed);
    return model;
  });

  std::printf(
      "\ntest accuracy on classes 5-9 (%zu images), trained on %zu labelled images, "
      "learning rate chosen on the validation images:\n",
      data.new_test.count, data.few.count);
  const auto report = [&](const char* way, const Selected<Backend>& selected) {
    std::printf("  %-38s lr %-6g validation %6.2f%%  test %6.2f%%\n", way, selected.lr,
                100.0 * selected.validation_accuracy,
                100.0 * examples::evaluate(*selected.model, data.new_test, 256));
  };
  report("(a) frozen backbone, new linear head", frozen);
  report("(b) last block fine-tuned at lr / 10", tuned);
  report("(c) from scratch", scratch);
  std::printf("\npre-training %.1f s, total %.1f s\n", pretrain_seconds, seconds_since(start));
}

}  // namespace

int main(int argc, char** argv) {
  examples::Flags defaults;
  defaults.epochs = 3;
  const examples::Flags flags = examples::parse(argc, argv, "transfer_learning", defaults);
  st::set_threads(flags.threads);
  const auto start = examples::Clock::now();
  const examples::FashionMnist data = examples::load_fashion_mnist(flags, "transfer_learning");

  const st::data::Dataset new_train = st::data::select_classes(data.train, {5, 6, 7, 8, 9});
  const std::vector<std::size_t> few_indices =
      st::data::sample_per_class(new_train, flags.shots, flags.seed);
  const st::data::Dataset unlabelled = all_but(new_train, few_indices);
  const Splits splits{.old_train = st::data::select_classes(data.train, {0, 1, 2, 3, 4}),
                      .old_test = st::data::select_classes(data.test, {0, 1, 2, 3, 4}),
                      .few = st::data::subset(new_train, few_indices),
                      .validation = st::data::subset(
                          unlabelled, st::data::sample_per_class(unlabelled, validation_per_class,
                                                                 flags.seed + 1000)),
                      .new_test = st::data::select_classes(data.test, {5, 6, 7, 8, 9})};
  std::printf(
      "pre-training on classes 0-4: %zu images; new classes 5-9: %zu labelled images "
      "(%zu per class), %zu validation images, %zu test images; on %s, %zu threads\n\n%s\n",
      splits.old_train.count, splits.few.count, flags.shots, splits.validation.count,
      splits.new_test.count, flags.device.c_str(), flags.threads, st::summary<Backbone>().c_str());

  examples::on_device(flags.device, [&]<class Backend>() { run<Backend>(flags, splits, start); });
  return 0;
}
