// SimpleCNN on the CPU: the training step (batch 64, Adam), inference latency (batch 1) and
// throughput (batch 64), and every layer's forward and backward. bench/compare_pytorch runs
// the same workloads in PyTorch and prints the ratios.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include <strata/bench/register_layers.hpp>
#include <strata/strata.hpp>

namespace st = strata;
using Net = st::models::SimpleCNN<10>;

namespace {

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

void train_step(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const std::vector<float> images = random_images(batch);
  std::vector<std::int32_t> labels(batch);
  for (std::size_t i = 0; i < batch; ++i) labels[i] = static_cast<std::int32_t>(i % 10);
  st::Model<Net> model{st::seed{1}};
  st::Adam optimizer{model.parameters(), {.lr = 1e-3f}};
  for (auto _ : state) {
    const auto logits = model.forward(images);  // [N, 10]
    model.backward(st::cross_entropy(logits, labels));
    optimizer.step();
  }
  set_images_per_second(state, batch);
}

void inference(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const std::vector<float> images = random_images(batch);
  st::Model<Net> model{st::seed{1}};
  model.eval();
  for (auto _ : state) {
    const auto logits = model.forward(images);  // [N, 10]
    benchmark::DoNotOptimize(logits.data);
  }
  set_images_per_second(state, batch);
}

}  // namespace

BENCHMARK(train_step)->Name("simplecnn/train_step")->Arg(64)->UseRealTime()->MinTime(1.0);
BENCHMARK(inference)->Name("simplecnn/inference")->Arg(1)->Arg(64)->UseRealTime()->MinTime(1.0);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  st::bench::register_layers<Net>(64, "simplecnn/layer");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
