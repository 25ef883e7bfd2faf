// A residual network for 28x28 images, trained on Fashion-MNIST with augmentation (random crop
// with 2-pixel padding, horizontal flip), SGD with Nesterov momentum, weight decay and a cosine
// learning-rate schedule. --no-skip trains the same network with its skip connections removed
// (the seed's exercise: it trains worse).
//
//   resnet_fashion_mnist [--epochs 8] [--batch 128] [--lr 0.1] [--seed 1] [--threads 2]
//                        [--no-skip] [--checkpoint resnet.ckpt] [--train-limit N] [--device cpu]
#include <cstdio>

#include <strata/blocks/resnet.hpp>
#include <strata/strata.hpp>

#include "training.hpp"

namespace st = strata;

// BasicBlock without its shortcut: the body, then the ReLU that followed the addition.
template <std::size_t Planes, std::size_t StrideHW>
using PlainBlock =
    st::Sequential<st::Conv2d<Planes, 3, st::Stride<StrideHW>, st::Pad<1>, st::NoBias>,
                   st::BatchNorm2d<>, st::ReLU, st::Conv2d<Planes, 3, st::Pad<1>, st::NoBias>,
                   st::BatchNorm2d<>, st::ReLU>;

// A 3x3 stem without downsampling (28x28 is small), three stages of two blocks at 28, 14 and 7
// pixels, global average pooling and a linear classifier.
template <template <std::size_t, std::size_t> class Block>
using FashionResNet =
    st::Sequential<st::Input<1, 28, 28>, st::Conv2d<32, 3, st::Pad<1>, st::NoBias>,
                   st::BatchNorm2d<>, st::ReLU,                 //
                   st::Stage<2, Block<32, 1>, Block<32, 1>>,    // 32x28x28
                   st::Stage<2, Block<64, 2>, Block<64, 1>>,    // 64x14x14
                   st::Stage<2, Block<128, 2>, Block<128, 1>>,  // 128x7x7
                   st::GlobalAvgPool, st::Flatten, st::Linear<10>>;

template <class Net, class Backend>
void train(const examples::Flags& flags, const examples::FashionMnist& data) {
  st::Model<Net, Backend> model{st::seed{flags.seed}};
  st::SGD optimizer{model.parameters(),
                    {.lr = flags.lr, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true}};
  st::data::Loader loader{data.train,
                          {.batch = flags.batch,
                           .shuffle = true,
                           .seed = flags.seed,
                           .augment = {.crop_padding = 2, .horizontal_flip = true}}};
  const st::CosineSchedule schedule{.base_lr = flags.lr,
                                    .total_steps = flags.epochs * loader.batches_per_epoch(),
                                    .warmup = loader.batches_per_epoch() / 2};
  examples::train(model, optimizer, loader, data.test, flags,
                  [&](std::size_t step) { optimizer.options().lr = schedule(step); });
}

template <class Net>
int run(const examples::Flags& flags, const examples::FashionMnist& data, const char* title) {
  std::printf("%s on Fashion-MNIST: %zu training and %zu test images, on %s (%zu threads)\n\n%s\n",
              title, data.train.count, data.test.count, flags.device.c_str(), flags.threads,
              st::summary<Net>().c_str());
  examples::on_device(flags.device, [&]<class Backend>() { train<Net, Backend>(flags, data); });
  return 0;
}

int main(int argc, char** argv) {
  examples::Flags defaults;
  defaults.epochs = 8;  // 93.7% test accuracy in 27 min on 2 cores (docs/PERFORMANCE.md)
  defaults.batch = 128;
  defaults.lr = 0.1f;
  const examples::Flags flags = examples::parse(argc, argv, "resnet_fashion_mnist", defaults);
  st::set_threads(flags.threads);
  const auto data = examples::load_fashion_mnist(flags, "resnet_fashion_mnist");
  if (flags.no_skip) return run<FashionResNet<PlainBlock>>(flags, data, "Plain (no-skip) network");
  return run<FashionResNet<st::BasicBlock>>(flags, data, "ResNet");
}
