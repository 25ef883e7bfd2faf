// Whole networks (issue 4's table): training steps and inference at batch 1 (latency) and 16
// (throughput), and every layer of SimpleCNN and of ResNet-18-for-28x28 ("<net>/layer/...").
// bench/pytorch_suite.py runs the same workloads in PyTorch; bench/compare_pytorch runs both and
// prints the ratios.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include <strata/bench/register_layers.hpp>
#include <strata/blocks/resnet.hpp>
#include <strata/models/efficientnet.hpp>
#include <strata/models/mobilenet_v2.hpp>
#include <strata/models/resnet.hpp>
#include <strata/strata.hpp>

namespace st = strata;

namespace {

// ResNet-18 for 28x28 images: a 3x3 stride-1 stem and no max-pool (torchvision's resnet18 with
// conv1 = Conv2d(1, 64, 3, 1, 1) and maxpool = Identity, as bench/pytorch_suite.py builds it).
using ResNet18For28 = st::Sequential<
    st::Input<1, 28, 28>,                                           //
    st::Named<"conv1", st::Conv2d<64, 3, st::Pad<1>, st::NoBias>>,  //
    st::Named<"bn1", st::BatchNorm2d<>>, st::ReLU,                  //
    st::Named<"layer1", st::Repeat<2, st::BasicBlock<64, 1>>>,      // 64x28x28
    st::Named<"layer2", st::Stage<2, st::BasicBlock<128, 2>, st::BasicBlock<128, 1>>>,
    st::Named<"layer3", st::Stage<2, st::BasicBlock<256, 2>, st::BasicBlock<256, 1>>>,
    st::Named<"layer4", st::Stage<2, st::BasicBlock<512, 2>, st::BasicBlock<512, 1>>>,
    st::GlobalAvgPool, st::Flatten, st::Named<"fc", st::Linear<10>>>;

template <class Net>
std::vector<float> random_images(std::size_t batch) {
  std::vector<float> images(batch * Net::input_shape::size);
  st::Rng rng(3);
  std::normal_distribution<float> normal;
  for (float& v : images) v = normal(rng);
  return images;
}

void set_images_per_second(benchmark::State& state, std::size_t batch) {
  state.counters["images/s"] =
      benchmark::Counter(double(batch) * double(state.iterations()), benchmark::Counter::kIsRate);
}

// Forward, cross-entropy, backward and an optimizer step on random data.
template <class Net, class Optimizer, class OptimizerOptions>
void train_step(benchmark::State& state, OptimizerOptions options) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const std::vector<float> images = random_images<Net>(batch);
  std::vector<std::int32_t> labels(batch);
  for (std::size_t i = 0; i < batch; ++i)
    labels[i] = static_cast<std::int32_t>(i % Net::output_shape::size);
  st::Model<Net> model{st::seed{1}};
  Optimizer optimizer{model.parameters(), options};
  // One step first: the arena's pages are touched once, not in the first timed iteration
  // (a fresh page costs ~50x more here than on bare metal).
  model.backward(st::cross_entropy(model.forward(images), labels));
  for (auto _ : state) {
    const auto logits = model.forward(images);  // [N, classes]
    model.backward(st::cross_entropy(logits, labels));
    optimizer.step();
  }
  set_images_per_second(state, batch);
}

template <class Net>
void inference(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const std::vector<float> images = random_images<Net>(batch);
  st::Model<Net> model{st::seed{1}};
  model.eval();
  model.forward(images);  // warm-up, as in train_step
  for (auto _ : state) {
    const auto logits = model.forward(images);  // [N, classes]
    benchmark::DoNotOptimize(logits.data);
  }
  set_images_per_second(state, batch);
}

const st::SgdOptions sgd_momentum{.lr = 0.01f, .momentum = 0.9f};

void simplecnn_train(benchmark::State& state) {
  train_step<st::models::SimpleCNN<10>, st::Adam<>>(state, st::AdamOptions{.lr = 1e-3f});
}
void resnet18_28_train(benchmark::State& state) {
  train_step<ResNet18For28, st::SGD<>>(state, sgd_momentum);
}
void resnet50_train(benchmark::State& state) {
  train_step<st::models::ResNet50<1000>, st::SGD<>>(state, sgd_momentum);
}

}  // namespace

BENCHMARK(simplecnn_train)->Name("simplecnn/train_step")->Arg(64)->UseRealTime()->MinTime(1.0);
BENCHMARK(inference<st::models::SimpleCNN<10>>)
    ->Name("simplecnn/inference")
    ->Arg(1)
    ->Arg(64)
    ->UseRealTime()
    ->MinTime(1.0);
BENCHMARK(resnet18_28_train)->Name("resnet18_28/train_step")->Arg(128)->UseRealTime()->MinTime(2.0);
BENCHMARK(resnet50_train)->Name("resnet50/train_step")->Arg(16)->UseRealTime()->MinTime(2.0);
BENCHMARK(inference<st::models::ResNet50<1000>>)
    ->Name("resnet50/inference")
    ->Arg(1)
    ->Arg(16)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK(inference<st::models::EfficientNetB0<1000>>)
    ->Name("efficientnet_b0/inference")
    ->Arg(1)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK(inference<st::models::MobileNetV2<1000>>)
    ->Name("mobilenet_v2/inference")
    ->Arg(1)
    ->UseRealTime()
    ->MinTime(2.0);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // Every layer of two networks, forward and backward: where a network's time goes.
  st::bench::register_layers<st::models::SimpleCNN<10>>(64, "simplecnn/layer");
  st::bench::register_layers<ResNet18For28>(128, "resnet18_28/layer");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
