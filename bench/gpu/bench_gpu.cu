// strata's side of the GPU benchmarks that tools/gpu-check runs beside PyTorch eager
// (bench/gpu/pytorch_gpu.py, same cases, same names, same timing; docs/gpu-check.md).
//
//   bench_gpu OUT.json [--rounds N] [--warmup N] [--max-seconds S] [--tf32 on|off] [--only TEXT]
//
// OUT.json ("-": none) receives every case's timings; stdout gets one line per case,
// `name batch ms_median`. Cases:
//
//   simplecnn/train_step/64   SimpleCNN, 64 x 1x28x28 (Fashion-MNIST's shape), one training step:
//                             forward, cross_entropy, backward, SGD (lr 0.01, momentum 0.9)
//   resnet50/train_step/64    ResNet-50, 64 x 3x224x224, the same training step
//   resnet50/inference/1      ResNet-50, 1 x 3x224x224, one forward in eval mode
//
// A round is one step, timed with steady_clock from its start to the end of a
// cudaDeviceSynchronize after it; the result is the median over the rounds, after warm-up steps
// (the first step, which allocates the model's device memory, is reported apart as first_ms).
// Inputs and labels are host vectors, as Model::forward and cross_entropy take them, so each
// step includes copying them to the device; pytorch_gpu.py copies its host tensors likewise.
// Rounds stop early once a case has run --max-seconds (at least 3 rounds).
//
// Built with -DBENCH_GPU_SIMPLECNN=0 or -DBENCH_GPU_RESNET50=0, the program holds only the
// other model, so that tools/gpu-check compiles the two as separate translation units in
// parallel (ResNet-50 alone takes nvcc minutes). Without a CUDA device it exits with 77.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "strata/backend/cuda/kernels.hpp"
#include "strata/models/resnet.hpp"
#include "strata/models/simple_cnn.hpp"
#include "strata/strata.hpp"

#ifndef BENCH_GPU_SIMPLECNN
#define BENCH_GPU_SIMPLECNN 1
#endif
#ifndef BENCH_GPU_RESNET50
#define BENCH_GPU_RESNET50 1
#endif

namespace {

namespace st = strata;
using Clock = std::chrono::steady_clock;

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

void synchronize() {
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  check(cudaGetLastError(), "a kernel of the step");
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Options {
  int rounds = 0;  // 0: each case's default
  int warmup = 0;  // 0: each case's default
  double max_seconds = 20;
  bool tf32 = false;
  std::string only;
  std::string json = "-";
};

struct Result {
  std::string name;
  std::size_t batch = 0;
  std::size_t parameters = 0;
  int warmup = 0;
  double first_ms = 0;
  std::vector<double> ms;  // one per timed round

  double median() const {
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  double min() const { return ms.empty() ? 0 : *std::min_element(ms.begin(), ms.end()); }
  double mean() const {
    double sum = 0;
    for (double t : ms) sum += t;
    return ms.empty() ? 0 : sum / double(ms.size());
  }
};

// Warm-up (the first step timed alone), then rounds of one synchronised step each.
Result time_case(std::string name, std::size_t batch, std::size_t parameters, int rounds,
                 int warmup, const Options& o, const std::function<void()>& step) {
  Result r{
      std::move(name), batch, parameters, std::max(1, o.warmup > 0 ? o.warmup : warmup), 0, {}};
  rounds = std::max(1, o.rounds > 0 ? o.rounds : rounds);
  synchronize();
  const auto first = Clock::now();
  step();
  synchronize();
  r.first_ms = ms_since(first);
  for (int i = 1; i < r.warmup; ++i) step();
  synchronize();
  const auto start = Clock::now();
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = Clock::now();
    step();
    synchronize();
    r.ms.push_back(ms_since(t0));
    if (r.ms.size() >= 3 && ms_since(start) > 1e3 * o.max_seconds) break;
  }
  return r;
}

std::vector<float> random_input(std::size_t count, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(count);
  for (float& v : x) v = normal(gen);
  return x;
}

// Labels 0, 1, ..., classes - 1, 0, 1, ... as pytorch_gpu.py's torch.arange(batch) % classes.
std::vector<std::int32_t> cyclic_labels(std::size_t batch, std::size_t classes) {
  std::vector<std::int32_t> labels(batch);
  for (std::size_t i = 0; i < batch; ++i) labels[i] = static_cast<std::int32_t>(i % classes);
  return labels;
}

// One training step: forward, softmax cross-entropy (mean), backward, SGD with momentum.
template <class Net>
Result train_step(const std::string& name, std::size_t batch, int rounds, int warmup,
                  const Options& o) {
  st::Model<Net, st::cuda> model{st::seed{1}};
  st::SGD opt(model.parameters(), {.lr = 0.01f, .momentum = 0.9f});
  model.train();
  const std::vector<float> x = random_input(batch * Net::input_shape::size, 7);
  const std::vector<std::int32_t> labels = cyclic_labels(batch, Net::output_shape::size);
  return time_case(name, batch, Net::parameter_count, rounds, warmup, o, [&] {
    auto out = model.forward(std::span<const float>(x));
    auto loss = st::cross_entropy(out, std::span<const std::int32_t>(labels));
    model.backward(loss);
    opt.step();
  });
}

// One forward in evaluation mode (BatchNorm's running statistics, no dropout).
template <class Net>
Result inference(const std::string& name, std::size_t batch, int rounds, int warmup,
                 const Options& o) {
  st::Model<Net, st::cuda> model{st::seed{1}};
  model.eval();
  const std::vector<float> x = random_input(batch * Net::input_shape::size, 7);
  return time_case(name, batch, Net::parameter_count, rounds, warmup, o, [&] {
    auto out = model.forward(std::span<const float>(x));
    (void)out;
  });
}

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "bench_gpu: %s\nusage: bench_gpu OUT.json|- [--rounds N] [--warmup N] "
               "[--max-seconds S] [--tf32 on|off] [--only TEXT]\n",
               problem.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]).starts_with("--"))
    usage("the first argument is the JSON output path ('-' for none)");
  Options o;
  o.json = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage("missing value after " + std::string(flag));
    const std::string value = argv[++i];
    try {
      if (flag == "--rounds")
        o.rounds = std::stoi(value);
      else if (flag == "--warmup")
        o.warmup = std::stoi(value);
      else if (flag == "--max-seconds")
        o.max_seconds = std::stod(value);
      else if (flag == "--only")
        o.only = value;
      else if (flag == "--tf32") {
        if (value != "on" && value != "off") usage("--tf32 takes on or off");
        o.tf32 = value == "on";
      } else
        usage("unknown flag " + std::string(flag));
    } catch (const std::logic_error&) {
      usage("bad value '" + value + "' for " + std::string(flag));
    }
  }
  return o;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

void write_json(const Options& o, const std::string& device, const std::vector<Result>& results) {
  if (o.json == "-") return;
  std::ofstream f(o.json);
  f << "{\"side\": \"strata\", \"device\": " << json_string(device)
    << ", \"tf32\": " << (o.tf32 ? "true" : "false")
    << ", \"input\": \"host\", \"timer\": \"steady_clock + cudaDeviceSynchronize\""
    << ", \"max_seconds\": " << o.max_seconds << ", \"results\": {";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    f << (i ? ", " : "") << json_string(r.name) << ": {\"batch\": " << r.batch
      << ", \"parameters\": " << r.parameters << ", \"ms_median\": " << r.median()
      << ", \"ms_min\": " << r.min() << ", \"ms_mean\": " << r.mean()
      << ", \"first_ms\": " << r.first_ms << ", \"warmup\": " << r.warmup
      << ", \"rounds\": " << r.ms.size() << ", \"ms\": [";
    for (std::size_t k = 0; k < r.ms.size(); ++k) f << (k ? ", " : "") << r.ms[k];
    f << "]}";
  }
  f << "}}\n";
  if (!f) throw std::runtime_error("cannot write " + o.json);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (const std::string reason = st::backend::cuda::no_device_reason(); !reason.empty()) {
    std::printf("bench_gpu: %s; nothing measured\n", reason.c_str());
    return 77;
  }
  try {
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    st::backend::cuda::set_tf32(o.tf32);
    std::printf("# strata on %s (sm_%d%d), TF32 %s; name batch ms_median\n", prop.name, prop.major,
                prop.minor, o.tf32 ? "on" : "off");
    std::fflush(stdout);

    std::vector<Result> results;
    const auto run = [&](const std::string& name, auto&& measure) {
      if (!o.only.empty() && name.find(o.only) == std::string::npos) return;
      results.push_back(measure(name));
      const Result& r = results.back();
      std::printf("%s %zu %.3f\n", r.name.c_str(), r.batch, r.median());
      std::fflush(stdout);
      write_json(o, prop.name, results);  // after every case: a later failure keeps these
    };
#if BENCH_GPU_SIMPLECNN
    run("simplecnn/train_step/64", [&](const std::string& name) {
      return train_step<st::models::SimpleCNN<>>(name, 64, 50, 5, o);
    });
#endif
#if BENCH_GPU_RESNET50
    run("resnet50/train_step/64", [&](const std::string& name) {
      return train_step<st::models::ResNet50<>>(name, 64, 20, 3, o);
    });
    run("resnet50/inference/1", [&](const std::string& name) {
      return inference<st::models::ResNet50<>>(name, 1, 50, 5, o);
    });
#endif
    write_json(o, prop.name, results);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu: %s\n", e.what());
    return 1;
  }
  return 0;
}
