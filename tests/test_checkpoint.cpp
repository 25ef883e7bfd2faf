#include <doctest/doctest.h>

#include <zlib.h>
#include "temp_dir.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "strata/strata.hpp"

#if __has_include(<sys/wait.h>)
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace fs = std::filesystem;

namespace {

using TinyNet = strata::Sequential<strata::Input<1, 6, 6>, strata::Conv2d<2, 3>, strata::ReLU,
                                   strata::Flatten, strata::Linear<3>>;
// Same layer names as TinyNet; only the convolution's width differs.
using WiderNet = strata::Sequential<strata::Input<1, 6, 6>, strata::Conv2d<4, 3>, strata::ReLU,
                                    strata::Flatten, strata::Linear<3>>;
using DeeperNet =
    strata::Sequential<strata::Input<1, 6, 6>, strata::Conv2d<2, 3>, strata::ReLU, strata::Flatten,
                       strata::Linear<3>, strata::ReLU, strata::Linear<3>>;

// No library layer has buffers yet (BatchNorm will); this stand-in keeps a running mean of its
// input, so that checkpoints of buffers are exercised.
struct RunningMean : strata::layer_spec {
  template <class In>
  struct bind : strata::stateless_layer {
    using input_shape = In;
    using output_shape = In;
    static constexpr std::array<strata::BufferSpec, 1> buffers{
        strata::BufferSpec{"running_mean", {In::size}, 1}};
    static std::string describe() { return "RunningMean"; }

    template <class T>
    static void init(T*, T* buffer_data, strata::Rng&) {
      for (std::size_t i = 0; i < In::size; ++i) buffer_data[i] = T(0.5);
    }
    template <class T, class B>
    static void forward(const strata::Ctx<T, B>& ctx, const T* x, T* y) {
      for (std::size_t i = 0; i < ctx.batch * In::size; ++i) y[i] = x[i];
      if (!ctx.training) return;
      for (std::size_t i = 0; i < In::size; ++i) {
        T mean = 0;
        for (std::size_t n = 0; n < ctx.batch; ++n) mean += x[n * In::size + i];
        ctx.buffers[i] = T(0.9) * ctx.buffers[i] + T(0.1) * mean / T(ctx.batch);
      }
    }
    template <class T, class B>
    static void backward(const strata::Ctx<T, B>& ctx, const T*, const T*, const T* dy, T* dx) {
      if (dx)
        for (std::size_t i = 0; i < ctx.batch * In::size; ++i) dx[i] = dy[i];
    }
  };
};
using BufferNet = strata::Sequential<strata::Input<1, 6, 6>, strata::Conv2d<2, 3>, RunningMean,
                                     strata::Flatten, strata::Linear<3>>;

struct TempDir : strata::test::TempDir {
  TempDir() : strata::test::TempDir("strata_test_checkpoint_") {}
};

constexpr std::size_t batch = 4;

std::vector<float> inputs(std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> x(batch * 36);
  for (float& v : x) v = dist(gen);
  return x;
}
const std::vector<std::int32_t> labels{0, 2, 1, 2};

template <class Net, class Optimizer>
void train_step(strata::Model<Net>& model, Optimizer& opt, std::uint32_t data_seed) {
  const std::vector<float> x = inputs(data_seed);
  auto out = model.forward(x);
  model.backward(strata::cross_entropy(out, labels));
  opt.step();
}

template <class Net>
std::vector<float> values(strata::Model<Net>& model) {
  auto p = model.parameter_data();
  return {p.begin(), p.end()};
}

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const fs::path& p, const std::vector<std::uint8_t>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// The message of the CheckpointError that f throws (fails the test if it throws nothing).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const strata::CheckpointError& e) {
    return e.what();
  }
  FAIL("no CheckpointError was thrown");
  return {};
}

// Trains `steps` steps, saves, trains one more: the reference. Then a fresh model and optimizer
// (another seed) restore the checkpoint and take the same step; both must agree bit for bit.
template <class Optimizer, class Options>
void check_resume(const Options& options, int steps = 3) {
  TempDir dir;
  const fs::path file = dir / "run.ckpt";
  strata::Model<TinyNet> a(strata::seed{1});
  Optimizer opt_a(a.parameters(), options);
  for (int s = 0; s < steps; ++s) train_step(a, opt_a, 100 + s);
  strata::save_checkpoint(file, a, opt_a);
  const std::vector<float> saved = values(a);
  train_step(a, opt_a, 7);

  strata::Model<TinyNet> b(strata::seed{2});
  Optimizer opt_b(b.parameters(), options);
  CHECK(values(b) != saved);
  strata::load_checkpoint(file, b, opt_b);
  CHECK(values(b) == saved);
  CHECK(opt_b.steps() == std::size_t(steps));
  // A fresh optimizer's state is all zeros, so this shows the state came from the file.
  for (std::size_t k = 0; k < opt_b.state().tensor_count(); ++k) {
    auto sb = opt_b.state().tensor(k);
    CHECK(std::vector<float>(sb.begin(), sb.end()) != std::vector<float>(sb.size(), 0.0f));
  }
  train_step(b, opt_b, 7);
  CHECK(values(b) == values(a));
  CHECK(opt_b.steps() == opt_a.steps());
  for (std::size_t k = 0; k < opt_b.state().tensor_count(); ++k) {
    auto sa = opt_a.state().tensor(k), sb = opt_b.state().tensor(k);
    CHECK(std::vector<float>(sa.begin(), sa.end()) == std::vector<float>(sb.begin(), sb.end()));
  }
}

}  // namespace

TEST_CASE("checkpoint: model round trip restores every value into a differently seeded model") {
  TempDir dir;
  const fs::path file = dir / "model.ckpt";
  strata::Model<TinyNet> a(strata::seed{1});
  strata::save_checkpoint(file, a);
  CHECK(fs::exists(file));
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}) == 1);

  strata::Model<TinyNet> b(strata::seed{2});
  REQUIRE(values(b) != values(a));
  strata::load_checkpoint(file, b);
  CHECK(values(b) == values(a));

  const std::vector<float> x = inputs(5);
  const auto ya = a.forward(x).values(), yb = b.forward(x).values();
  CHECK(std::vector<float>(ya.begin(), ya.end()) == std::vector<float>(yb.begin(), yb.end()));
}

TEST_CASE("checkpoint: buffers are saved and restored") {
  TempDir dir;
  const fs::path file = dir / "buffers.ckpt";
  strata::Model<BufferNet> a(strata::seed{1});
  strata::SGD opt(a.parameters(), {.lr = 0.1f});
  train_step(a, opt, 3);
  auto ba = a.buffer_data();
  REQUIRE(ba[0] != 0.5f);
  strata::save_checkpoint(file, a);

  strata::Model<BufferNet> b(strata::seed{2});
  strata::load_checkpoint(file, b);
  auto bb = b.buffer_data();
  CHECK(std::vector<float>(bb.begin(), bb.end()) == std::vector<float>(ba.begin(), ba.end()));
  CHECK(values(b) == values(a));
}

TEST_CASE("checkpoint: optimizer state and step count resume training exactly") {
  SUBCASE("SGD with momentum") {
    check_resume<strata::SGD<>>(strata::SgdOptions{.lr = 0.05f, .momentum = 0.9f});
  }
  SUBCASE("SGD with Nesterov momentum and weight decay") {
    check_resume<strata::SGD<>>(
        strata::SgdOptions{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-3f, .nesterov = true});
  }
  SUBCASE("Adam") {
    check_resume<strata::Adam<>>(strata::AdamOptions{.lr = 1e-2f});
  }
  SUBCASE("AdamW") {
    check_resume<strata::AdamW<>>(strata::AdamOptions{.lr = 1e-2f, .weight_decay = 1e-2f});
  }
}

TEST_CASE("checkpoint: a model-only load accepts a checkpoint that also holds optimizer state") {
  TempDir dir;
  const fs::path file = dir / "run.ckpt";
  strata::Model<TinyNet> a(strata::seed{1});
  strata::Adam opt(a.parameters(), {});
  train_step(a, opt, 1);
  strata::save_checkpoint(file, a, opt);
  strata::Model<TinyNet> b(strata::seed{2});
  strata::load_checkpoint(file, b);
  CHECK(values(b) == values(a));
}

TEST_CASE("checkpoint: optimizer mismatches are refused by name, changing nothing") {
  TempDir dir;
  const fs::path with_sgd = dir / "sgd.ckpt", model_only = dir / "model.ckpt";
  strata::Model<TinyNet> a(strata::seed{1});
  strata::SGD sgd(a.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  train_step(a, sgd, 1);
  strata::save_checkpoint(with_sgd, a, sgd);
  strata::save_checkpoint(model_only, a);

  strata::Model<TinyNet> b(strata::seed{2});
  strata::Adam adam(b.parameters(), {});
  const std::vector<float> before = values(b);

  const std::string wrong_kind = error_of([&] { strata::load_checkpoint(with_sgd, b, adam); });
  CHECK(wrong_kind.find("sgd.ckpt") != std::string::npos);
  CHECK(wrong_kind.find("holds SGD state") != std::string::npos);
  CHECK(wrong_kind.find("Adam") != std::string::npos);

  const std::string none = error_of([&] { strata::load_checkpoint(model_only, b, adam); });
  CHECK(none.find("no optimizer state") != std::string::npos);

  strata::AdamW adamw(b.parameters());
  const std::string sgd_into_adamw = error_of([&] { strata::load_checkpoint(with_sgd, b, adamw); });
  CHECK(sgd_into_adamw.find("AdamW") != std::string::npos);

  CHECK(values(b) == before);
  CHECK(adam.steps() == 0);
}

TEST_CASE("checkpoint: a different architecture is refused, naming the first differing tensor") {
  TempDir dir;
  const fs::path file = dir / "tiny.ckpt";
  strata::Model<TinyNet> tiny(strata::seed{1});
  strata::save_checkpoint(file, tiny);

  SUBCASE("a different shape") {
    strata::Model<WiderNet> wider(strata::seed{2});
    const std::vector<float> before = values(wider);
    const std::string msg = error_of([&] { strata::load_checkpoint(file, wider); });
    CHECK(msg == "checkpoint '" + file.string() +
                     "' does not match this network: tensor 0 is '0.weight' [4, 1, 3, 3] in the "
                     "network but '0.weight' [2, 1, 3, 3] in the file");
    CHECK(values(wider) == before);
  }
  SUBCASE("more tensors in the network") {
    strata::Model<DeeperNet> deeper(strata::seed{2});
    const std::vector<float> before = values(deeper);
    const std::string msg = error_of([&] { strata::load_checkpoint(file, deeper); });
    CHECK(msg == "checkpoint '" + file.string() +
                     "' does not match this network: tensor 4 is '5.weight' [3, 3] in the network "
                     "but the file has only 4 tensors");
    CHECK(values(deeper) == before);
  }
  SUBCASE("more tensors in the file") {
    const fs::path deep_file = dir / "deeper.ckpt";
    strata::Model<DeeperNet> deeper(strata::seed{2});
    strata::save_checkpoint(deep_file, deeper);
    const std::string msg = error_of([&] { strata::load_checkpoint(deep_file, tiny); });
    CHECK(
        msg.find("tensor 4 is '5.weight' [3, 3] in the file but the network has only 4 tensors") !=
        std::string::npos);
  }
  SUBCASE("buffers differ") {
    strata::Model<BufferNet> buffered(strata::seed{2});
    const std::string msg = error_of([&] { strata::load_checkpoint(file, buffered); });
    CHECK(msg.find("does not match this network: tensor 4 is '1.running_mean' [32] in the network "
                   "but the file has only 4 tensors") != std::string::npos);
  }
}

TEST_CASE("checkpoint: damaged files are refused before the model changes") {
  TempDir dir;
  const fs::path file = dir / "model.ckpt";
  strata::Model<TinyNet> a(strata::seed{1});
  strata::Adam opt(a.parameters(), {});
  train_step(a, opt, 1);
  strata::save_checkpoint(file, a, opt);
  const std::vector<std::uint8_t> good = read_bytes(file);
  REQUIRE(good.size() > 64);

  strata::Model<TinyNet> b(strata::seed{2});
  const std::vector<float> before = values(b);
  auto load_error = [&](const std::vector<std::uint8_t>& bytes) {
    write_bytes(file, bytes);
    std::string msg = error_of([&] { strata::load_checkpoint(file, b); });
    CHECK(msg.find(file.string()) != std::string::npos);
    CHECK(values(b) == before);
    return msg;
  };

  SUBCASE("one corrupted byte in the data") {
    std::vector<std::uint8_t> bytes = good;
    bytes[bytes.size() / 2] ^= 0x01;
    CHECK(load_error(bytes).find("CRC-32") != std::string::npos);
  }
  SUBCASE("one corrupted byte in the checksum itself") {
    std::vector<std::uint8_t> bytes = good;
    bytes[good.size() - 1] ^= 0x80;
    CHECK(load_error(bytes).find("CRC-32") != std::string::npos);
  }
  SUBCASE("truncated") {
    for (std::size_t keep :
         {good.size() - 1, good.size() / 2, std::size_t{30}, std::size_t{10}, std::size_t{0}}) {
      CAPTURE(keep);
      const std::vector<std::uint8_t> bytes(good.begin(), good.begin() + std::ptrdiff_t(keep));
      CHECK(load_error(bytes).find("truncated") != std::string::npos);
    }
  }
  SUBCASE("wrong magic") {
    std::vector<std::uint8_t> bytes = good;
    bytes[0] = 'X';
    CHECK(load_error(bytes).find("not a strata checkpoint") != std::string::npos);
    CHECK(load_error({'P', 'K', 3, 4}).find("not a strata checkpoint") != std::string::npos);
  }
  SUBCASE("unsupported version") {
    std::vector<std::uint8_t> bytes = good;
    bytes[8] = 99;
    CHECK(load_error(bytes).find("format version 99") != std::string::npos);
  }
  SUBCASE("missing file") {
    const std::string msg = error_of([&] { strata::load_checkpoint(dir / "nonexistent.ckpt", b); });
    CHECK(msg.find("nonexistent.ckpt") != std::string::npos);
  }
}

TEST_CASE("checkpoint: a failed save leaves the target intact and no temporary file") {
  TempDir dir;
  // A directory under the target name makes the final rename fail, after the temporary file is
  // complete, as a crash or a full disk would midway: the target must not be touched.
  const fs::path blocked = dir / "model.ckpt";
  fs::create_directory(blocked);
  write_bytes(blocked / "keep", {1});
  strata::Model<TinyNet> a(strata::seed{1});
  const std::string msg = error_of([&] { strata::save_checkpoint(blocked, a); });
  CHECK(msg.find("model.ckpt") != std::string::npos);
  CHECK(msg.find("renaming") != std::string::npos);
  CHECK(read_bytes(blocked / "keep") == std::vector<std::uint8_t>{1});
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}) == 1);

  // Once the obstacle is gone, saving works again and cleans up after itself.
  fs::remove_all(blocked);
  strata::save_checkpoint(blocked, a);
  strata::Model<TinyNet> c(strata::seed{3});
  strata::load_checkpoint(blocked, c);
  CHECK(values(c) == values(a));
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}) == 1);
}

// Saves `model` to `file` `times` times; the number that failed.
int save_repeatedly(const fs::path& file, strata::Model<TinyNet>& model, int times) {
  int failures = 0;
  for (int i = 0; i < times; ++i) {
    try {
      strata::save_checkpoint(file, model);
    } catch (const strata::CheckpointError&) {
      ++failures;
    }
  }
  return failures;
}

TEST_CASE("checkpoint: concurrent saves to one path never collide") {
  TempDir dir;
  const fs::path file = dir / "shared.ckpt";
  strata::Model<TinyNet> a(strata::seed{1}), b(strata::seed{2});
  const auto check_survivor = [&] {
    strata::Model<TinyNet> c(strata::seed{3});
    strata::load_checkpoint(file, c);
    CHECK((values(c) == values(a) || values(c) == values(b)));
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}) == 1);
  };

  SUBCASE("two threads") {
    int failures_a = 0, failures_b = 0;
    std::thread ta([&] { failures_a = save_repeatedly(file, a, 200); });
    std::thread tb([&] { failures_b = save_repeatedly(file, b, 200); });
    ta.join();
    tb.join();
    CHECK(failures_a == 0);
    CHECK(failures_b == 0);
    check_survivor();
  }
#if __has_include(<sys/wait.h>)
  SUBCASE("two processes") {
    // The child starts with the parent's count of saves, so only the process id tells their
    // temporary files apart.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) ::_exit(save_repeatedly(file, b, 200) == 0 ? 0 : 1);
    const int failures = save_repeatedly(file, a, 200);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(failures == 0);
    check_survivor();
  }
#endif
}

TEST_CASE("checkpoint: the header carries the documented layout") {
  TempDir dir;
  const fs::path file = dir / "model.ckpt";
  strata::Model<TinyNet> a(strata::seed{1});
  strata::SGD opt(a.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  train_step(a, opt, 1);
  train_step(a, opt, 2);
  strata::save_checkpoint(file, a, opt);
  const std::vector<std::uint8_t> b = read_bytes(file);
  auto u32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v |= std::uint32_t{b[at + i]} << (8 * i);
    return v;
  };
  auto u64 = [&](std::size_t at) {
    return std::uint64_t{u32(at)} | std::uint64_t{u32(at + 4)} << 32;
  };
  CHECK(std::string(b.begin(), b.begin() + 8) == "STRATACK");
  CHECK(u32(8) == 1);
  CHECK(u64(12) == b.size());
  CHECK(u32(28) == 4 + 4);  // 4 parameters + 4 momentum buffers
  CHECK(u32(32) == 3);
  CHECK(std::string(b.begin() + 36, b.begin() + 39) == "SGD");
  CHECK(u64(39) == 2);
  // First tensor record: kind, name, dtype, rank, dims, byte length, data.
  std::size_t at = 47;
  CHECK(b[at] == 0);
  CHECK(u32(at + 1) == 8);
  CHECK(std::string(b.begin() + std::ptrdiff_t(at + 5), b.begin() + std::ptrdiff_t(at + 13)) ==
        "0.weight");
  at += 13;
  CHECK(b[at] == 1);      // f32
  CHECK(b[at + 1] == 4);  // rank
  CHECK(u64(at + 2) == 2);
  CHECK(u64(at + 10) == 1);
  CHECK(u64(at + 18) == 3);
  CHECK(u64(at + 26) == 3);
  CHECK(u64(at + 34) == 2 * 9 * 4);
  float first = 0;
  std::memcpy(&first, &b[at + 42], 4);  // the test hosts are little-endian, like the format
  CHECK(first == a.parameters()[0].value[0]);
  CHECK(u32(b.size() - 4) ==
        static_cast<std::uint32_t>(crc32(0L, b.data() + 8, static_cast<uInt>(b.size() - 12))));
}

TEST_CASE("checkpoint: NaN and infinite values are refused by name and count, unless allowed") {
  TempDir dir;
  const fs::path file = dir / "diverged.ckpt";
  strata::Model<TinyNet> a(strata::seed{1});
  strata::SGD opt_a(a.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  train_step(a, opt_a, 1);
  strata::Model<TinyNet> b(strata::seed{2});
  strata::SGD opt_b(b.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  const std::vector<float> before = values(b);
  const auto momentum_b = [&] {
    auto m = opt_b.state().tensor(0);
    return std::vector<float>(m.begin(), m.end());
  };
  const std::vector<float> momentum_before = momentum_b();

  SUBCASE("weights") {
    a.parameters()[0].value[3] = std::numeric_limits<float>::quiet_NaN();
    a.parameters()[2].value[0] = -std::numeric_limits<float>::infinity();
    strata::save_checkpoint(file, a, opt_a);
    const std::string expected = "checkpoint '" + file.string() +
                                 "' holds values that are NaN or infinite ('0.weight' has 1 of "
                                 "18, '3.weight' has 1 of 96; CheckpointLoadOptions' "
                                 "allow_non_finite accepts them)";
    CHECK(error_of([&] { strata::load_checkpoint(file, b); }) == expected);
    CHECK(error_of([&] { strata::load_checkpoint(file, b, opt_b); }) == expected);
    CHECK(values(b) == before);
    CHECK(momentum_b() == momentum_before);

    strata::load_checkpoint(file, b, {.allow_non_finite = true});
    CHECK(std::isnan(b.parameters()[0].value[3]));
    CHECK(std::isinf(b.parameters()[2].value[0]));
  }
  SUBCASE("SGD momentum, all NaN") {
    auto m = opt_a.state().tensor(0);
    std::fill(m.begin(), m.begin() + 18, std::numeric_limits<float>::quiet_NaN());
    strata::save_checkpoint(file, a, opt_a);
    CHECK(error_of([&] {
            strata::load_checkpoint(file, b, opt_b);
          }).find("('0.weight.momentum_buffer' has 18 of 18;") != std::string::npos);
    CHECK(values(b) == before);
    CHECK(momentum_b() == momentum_before);
    // A model-only load does not read the optimizer state, so it has nothing to refuse.
    strata::load_checkpoint(file, b);
    CHECK(values(b) == values(a));

    strata::load_checkpoint(file, b, opt_b, {.allow_non_finite = true});
    CHECK(std::isnan(opt_b.state().tensor(0)[17]));
  }
}

TEST_CASE("checkpoint: an absurd optimizer step count is refused") {
  TempDir dir;
  const fs::path file = dir / "steps.ckpt";
  strata::Model<TinyNet> a(strata::seed{1});
  strata::Adam opt_a(a.parameters(), {});
  train_step(a, opt_a, 1);
  strata::Model<TinyNet> b(strata::seed{2});
  strata::Adam opt_b(b.parameters(), {});
  const std::vector<float> before = values(b);

  opt_a.set_steps(std::numeric_limits<std::size_t>::max());
  strata::save_checkpoint(file, a, opt_a);
  CHECK(error_of([&] { strata::load_checkpoint(file, b, opt_b); }) ==
        "checkpoint '" + file.string() +
            "' is malformed: its optimizer step count 18446744073709551615 is larger than the "
            "limit 2^53");
  CHECK(values(b) == before);
  CHECK(opt_b.steps() == 0);

  opt_a.set_steps(std::size_t{1} << 53);  // the largest accepted
  strata::save_checkpoint(file, a, opt_a);
  strata::load_checkpoint(file, b, opt_b);
  CHECK(opt_b.steps() == std::size_t{1} << 53);
}
