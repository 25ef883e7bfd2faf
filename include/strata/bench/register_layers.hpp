// st::bench::register_layers<Net>(batch): one Google Benchmark for the forward and one for the
// backward of every layer of a network, named by index, layer and input shape, so that the
// slow layer of any network shows up in one line. st::bench::register_layer<Spec, In>(name,
// batch): one layer alone, forward and forward+backward. Needs Google Benchmark
// (benchmark::benchmark).
#pragma once

#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "strata/backend/default.hpp"
#include "strata/backend/kernels.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/runtime/context.hpp"

namespace strata::bench {

namespace detail {

// Buffers on Backend for running one bound layer alone, filled with random values.
template <class Layer, class Backend>
struct LayerBench {
  using ops = kernels<Backend>;
  explicit LayerBench(std::size_t batch)
      : batch(batch),
        exec(ops::make_exec()),
        x(batch * Layer::input_shape::size),
        y(batch * Layer::output_shape::size),
        dy(batch * Layer::output_shape::size),
        dx(batch * Layer::input_shape::size),
        params(Layer::parameter_count),
        grads(Layer::parameter_count),
        buffers(buffer_count<Layer>()),
        saved(batch * Layer::saved_per_sample),
        scratch(Layer::template scratch_size<Backend>(batch, ops::workers(exec))) {
    Rng rng(7);
    std::normal_distribution<float> normal;
    std::vector<float> host;
    for (auto* buffer : {&x, &dy}) {
      host.resize(buffer->size());
      for (float& value : host) value = normal(rng);
      ops::upload(exec, host.size(), host.data(), buffer->data());
    }
    std::vector<float> host_params(Layer::parameter_count), host_buffers(buffer_count<Layer>());
    Layer::init(host_params.data(), host_buffers.data(), rng);
    ops::upload(exec, host_params.size(), host_params.data(), params.data());
    ops::upload(exec, host_buffers.size(), host_buffers.data(), buffers.data());
  }
  Ctx<float, Backend> context() {
    return make_context<Backend>(LayerMemory<float>{.params = params.data(),
                                                    .grads = grads.data(),
                                                    .saved = saved.data(),
                                                    .scratch = scratch.data(),
                                                    .buffers = buffers.data()},
                                 batch, exec, true, &rng);
  }

  std::size_t batch;
  exec_t<Backend> exec;
  typename ops::template buffer<float> x, y, dy, dx, params, grads, buffers, saved, scratch;
  Rng rng{11};
};

// A layer's buffers, allocated on the first run of one of its benchmarks and shared by the
// others, so that benchmarks filtered out cost no memory (a network's layers at a training
// batch size hold gigabytes).
template <class Layer, class Backend>
class LazyLayerBench {
 public:
  explicit LazyLayerBench(std::size_t batch) : batch_(batch) {}
  LayerBench<Layer, Backend>& get() {
    if (!bench_) bench_ = std::make_unique<LayerBench<Layer, Backend>>(batch_);
    return *bench_;
  }

 private:
  std::size_t batch_;
  std::unique_ptr<LayerBench<Layer, Backend>> bench_;
};

template <class Layer>
void set_counters(benchmark::State& state, std::size_t batch, double passes) {
  const double flops = 2.0 * double(Layer::macs) * double(batch) * passes;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["images/s"] =
      benchmark::Counter(double(batch) * double(state.iterations()), benchmark::Counter::kIsRate);
}

// The activations a pass reads and writes (x and y forward; x, y, dy and dx for both passes),
// the traffic that bounds layers without arithmetic.
template <class Layer>
double activation_bytes(std::size_t batch, bool with_backward) {
  const double once =
      double(batch) * double(Layer::input_shape::size + Layer::output_shape::size) * sizeof(float);
  return with_backward ? 2 * once : once;
}

}  // namespace detail

// One layer at one batch size: "<name>/fwd" (forward) and "<name>/fwdbwd" (forward, then
// backward with the input gradient), with GFLOP/s, the fraction of `peak_gflops` (the machine's
// measured FMA peak for the threads in use; 0 leaves it out) and activation bytes/s.
template <LayerSpec Spec, class In, class Backend = default_backend>
void register_layer(const std::string& name, std::size_t batch, double peak_gflops = 0) {
  using L = typename Spec::template bind<In>;
  auto bench = std::make_shared<detail::LazyLayerBench<L, Backend>>(batch);
  for (const bool with_backward : {false, true}) {
    benchmark::RegisterBenchmark(
        (name + (with_backward ? "/fwdbwd" : "/fwd")).c_str(),
        [bench, batch, with_backward, peak_gflops](benchmark::State& state) {
          auto& b = bench->get();
          const auto ctx = b.context();
          const auto pass = [&] {
            L::forward(ctx, b.x.data(), b.y.data());
            if (with_backward) L::backward(ctx, b.x.data(), b.y.data(), b.dy.data(), b.dx.data());
          };
          pass();  // touches every buffer's pages before the timing starts
          for (auto _ : state) {
            pass();
            benchmark::DoNotOptimize(b.dx.data());
          }
          const double passes = with_backward ? 3.0 : 1.0;
          detail::set_counters<L>(state, batch, passes);
          const double iterations = double(state.iterations());
          if (peak_gflops > 0 && L::macs > 0)
            state.counters["peak"] = benchmark::Counter(
                2.0 * double(L::macs) * double(batch) * passes * iterations * 1e-9 / peak_gflops,
                benchmark::Counter::kIsRate);
          state.counters["bytes/s"] =
              benchmark::Counter(detail::activation_bytes<L>(batch, with_backward) * iterations,
                                 benchmark::Counter::kIsRate);
        })
        ->UseRealTime();
  }
}

template <Network Net, class Backend = default_backend>
void register_layers(std::size_t batch, const std::string& prefix = "layer") {
  Net::for_each_layer([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
    using L = typename Net::template layer<I>;
    const std::string name = prefix + "/" + std::to_string(I) + " " + L::describe() + " " +
                             L::input_shape::str() + " b" + std::to_string(batch);
    auto bench = std::make_shared<detail::LazyLayerBench<L, Backend>>(batch);
    benchmark::RegisterBenchmark((name + "/forward").c_str(), [bench](benchmark::State& state) {
      auto& b = bench->get();
      const auto ctx = b.context();
      L::forward(ctx, b.x.data(), b.y.data());  // warm-up: first touch of the pages
      for (auto _ : state) {
        L::forward(ctx, b.x.data(), b.y.data());
        benchmark::DoNotOptimize(b.y.data());
      }
      detail::set_counters<L>(state, b.batch, 1.0);
    })->UseRealTime();
    benchmark::RegisterBenchmark((name + "/backward").c_str(), [bench](benchmark::State& state) {
      auto& b = bench->get();
      const auto ctx = b.context();
      L::forward(ctx, b.x.data(), b.y.data());
      L::backward(ctx, b.x.data(), b.y.data(), b.dy.data(), b.dx.data());
      for (auto _ : state) {
        L::backward(ctx, b.x.data(), b.y.data(), b.dy.data(), b.dx.data());
        benchmark::DoNotOptimize(b.dx.data());
      }
      // Backward computes both the input and the weight gradient: two products per MAC.
      detail::set_counters<L>(state, b.batch, 2.0);
    })->UseRealTime();
  });
}

}  // namespace strata::bench
