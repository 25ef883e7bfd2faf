// Model<Net>: the type-level facts of DESIGN.md's SimpleCNN, PyTorch's default initialisation,
// an end-to-end forward/loss/backward against PyTorch (golden mini_cnn), the no-allocation
// training step, and the runtime contract (modes, activations, errors, batch changes, threads).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "golden.hpp"
#include "random_values.hpp"
#include "strata/strata.hpp"

// This is test_model's one TU that replaces the allocation functions.
#include "allocation_counter.hpp"
#include "steady_step.hpp"

namespace st = strata;

namespace {

using SimpleCNN = st::Sequential<st::Input<1, 28, 28>,                                       //
                                 st::Conv2d<32, 3, st::Pad<1>>, st::ReLU, st::MaxPool2d<2>,  //
                                 st::Conv2d<64, 3, st::Pad<1>>, st::ReLU, st::MaxPool2d<2>,  //
                                 st::Flatten, st::Linear<128>, st::ReLU, st::Linear<10>>;

static_assert(std::same_as<SimpleCNN::output_shape, st::Shape<10>>);
static_assert(SimpleCNN::parameter_count == 421'642);
static_assert(SimpleCNN::macs == 4'241'152);
static_assert(std::same_as<SimpleCNN::layer<5>::output_shape, st::Shape<64, 7, 7>>);
static_assert(std::same_as<SimpleCNN::layer<6>::output_shape, st::Shape<3136>>);
static_assert(st::Network<SimpleCNN>);
static_assert(st::Model<SimpleCNN>::parameter_count == 421'642);

// tests/golden/mini_cnn.txt was made by this network in PyTorch.
using MiniCNN = st::Sequential<st::Input<1, 12, 12>,                                      //
                               st::Conv2d<4, 3, st::Pad<1>>, st::ReLU, st::MaxPool2d<2>,  //
                               st::Conv2d<8, 3, st::Pad<1>>, st::ReLU, st::MaxPool2d<2>,  //
                               st::Flatten, st::Linear<16>, st::ReLU, st::Linear<10>>;

using strata::test::random_values;

std::vector<std::int32_t> random_labels(std::size_t count, std::int32_t classes,
                                        std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int32_t> pick(0, classes - 1);
  std::vector<std::int32_t> v(count);
  for (auto& l : v) l = pick(rng);
  return v;
}

// Elementwise |actual - expected| <= rtol * (|expected| + max|expected|): relative per element,
// but with a floor at the tensor's own scale, because float cancellation in a sum leaves an
// absolute error proportional to the magnitude of the terms, not of the result.
template <class Expected>
void check_close(std::span<const float> actual, const Expected& expected, double rtol,
                 const std::string& what) {
  INFO(what);
  REQUIRE(actual.size() == expected.size());
  double scale = 0;
  for (double e : expected) scale = std::max(scale, std::abs(e));
  std::size_t bad = 0, first_bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double e = expected[i], err = std::abs(double(actual[i]) - e);
    const double allowed = rtol * (std::abs(e) + scale);
    if (!(err <= allowed)) {
      if (bad++ == 0) first_bad = i;
    }
    worst = std::max(worst, err / (scale == 0 ? 1 : scale));
  }
  INFO("mismatches: " << bad << " of " << actual.size() << ", first at " << first_bad << " (got "
                      << (bad ? actual[first_bad] : 0.f) << ", expected "
                      << (bad ? expected[first_bad] : 0.0) << "), worst error / scale: " << worst);
  CHECK(bad == 0);
}

std::vector<float> to_floats(const std::vector<double>& values) {
  return {values.begin(), values.end()};
}

std::vector<float> copy_of(std::span<const float> s) {
  return {s.begin(), s.end()};
}

// One training step with the loss and the backward pass, no optimizer.
template <class Net>
double forward_backward(st::Model<Net>& model, std::span<const float> x,
                        std::span<const std::int32_t> labels) {
  const auto logits = model.forward(x);
  const st::Loss loss = st::cross_entropy(logits, labels);
  model.backward(loss);
  return loss.value;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Keeps the compiler from eliding a matched allocation/deallocation pair.
[[gnu::noinline]] void* volatile_sink(void* p) {
  static void* volatile sink;
  sink = p;
  return sink;
}

// Restores the process-wide OpenMP thread count when a test changes it.
struct ThreadsGuard {
  std::size_t saved = st::backend::cpu::max_threads();
  ~ThreadsGuard() { st::backend::cpu::set_threads(saved); }
};

}  // namespace

TEST_CASE("SimpleCNN summary lists every layer and the totals") {
  const std::string text = st::summary<SimpleCNN>();
  CAPTURE(text);
  const auto lines = lines_of(text);
  // Header, input row, 10 layers, total.
  REQUIRE(lines.size() == 13);

  struct Row {
    const char* layer;
    const char* shape;
    const char* params;
    const char* macs;
  };
  const Row rows[] = {
      {"Conv2d(1->32, 3x3, pad 1)", "32x28x28", "320", "225,792"},
      {"ReLU", "32x28x28", "0", "0"},
      {"MaxPool2d(2x2, stride 2)", "32x14x14", "0", "0"},
      {"Conv2d(32->64, 3x3, pad 1)", "64x14x14", "18,496", "3,612,672"},
      {"ReLU", "64x14x14", "0", "0"},
      {"MaxPool2d(2x2, stride 2)", "64x7x7", "0", "0"},
      {"Flatten", "3136", "0", "0"},
      {"Linear(3136->128)", "128", "401,536", "401,408"},
      {"ReLU", "128", "0", "0"},
      {"Linear(128->10)", "10", "1,290", "1,280"},
  };
  CHECK(contains(lines[1], "input"));
  CHECK(contains(lines[1], "1x28x28"));
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    const std::string& line = lines[2 + i];
    CAPTURE(line);
    CHECK(line.rfind(std::to_string(i) + " ", 0) == 0);
    CHECK(contains(line, rows[i].layer));
    // Built with += : GCC 12 warns falsely (-Wrestrict, PR 105329) on " " + std::string.
    const auto padded = [](std::string_view text, std::string_view after) {
      std::string out(" ");
      out += text;
      out += after;
      return out;
    };
    CHECK(contains(line, padded(rows[i].shape, " ")));
    CHECK(contains(line, padded(rows[i].params, " ")));
    CHECK(contains(line, padded(rows[i].macs, "")));
  }
  const std::string& total = lines.back();
  CHECK(contains(total, "total"));
  CHECK(contains(total, "421,642"));
  CHECK(contains(total, "4,241,152"));
}

TEST_CASE("default initialisation is PyTorch's: U(+-1/sqrt(fan_in)) for weights and biases") {
  st::Model<SimpleCNN> model{st::seed{42}};
  const auto params = model.parameters();
  REQUIRE(params.size() == 8);
  std::size_t fan_in = 0;
  for (const st::Parameter& p : params) {
    CAPTURE(p.name);
    // A bias takes the bound of the weight just before it.
    if (p.rank > 1) {
      fan_in = 1;
      for (std::size_t d = 1; d < p.rank; ++d) fan_in *= p.dims[d];
    }
    const double bound = 1.0 / std::sqrt(double(fan_in));
    const auto v = p.values();
    double sum = 0, sum_sq = 0, largest = 0;
    for (float x : v) {
      sum += x;
      sum_sq += double(x) * x;
      largest = std::max(largest, std::abs(double(x)));
    }
    CHECK(largest <= bound);
    const double n = double(v.size());
    if (v.size() < 100) continue;  // too few draws for the moments to say anything
    // x ~ U(-b, b): mean 0 with sd b/sqrt(3n); E[x^2] = b^2/3, and the relative sd of its
    // estimate is sqrt(Var(x^2)/E[x^2]^2 / n) = sqrt(0.8/n). Five sigma each.
    CHECK(std::abs(sum / n) <= 5 * bound / std::sqrt(3 * n));
    const double variance = sum_sq / n, expected = bound * bound / 3;
    CHECK(std::abs(variance / expected - 1) <= 5 * std::sqrt(0.8 / n));
    // The range is the full bound, not a narrower one that would also pass the check above.
    CHECK(largest >= 0.95 * bound);
  }
}

TEST_CASE("initialisation is a function of the seed") {
  st::Model<SimpleCNN> a{st::seed{7}}, b{st::seed{7}}, c{st::seed{8}};
  const auto pa = a.parameter_data(), pb = b.parameter_data(), pc = c.parameter_data();
  CHECK(std::equal(pa.begin(), pa.end(), pb.begin(), pb.end()));
  std::size_t same = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) same += pa[i] == pc[i];
  CHECK(same < pa.size() / 1000);
}

TEST_CASE("mini_cnn matches PyTorch: parameter names, logits, loss and every gradient") {
  const strata::test::Golden g = strata::test::load_golden("mini_cnn");
  st::Model<MiniCNN> model{st::seed{1}};

  const char* const names[] = {"0.weight", "0.bias", "3.weight", "3.bias",
                               "7.weight", "7.bias", "9.weight", "9.bias"};
  const auto params = model.parameters();
  REQUIRE(params.size() == std::size(names));
  std::size_t total = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const st::Parameter& p = params[i];
    CAPTURE(p.name);
    CHECK(p.name == names[i]);
    REQUIRE(g.has_tensor(p.name));
    const strata::test::GoldenTensor& t = g.tensor(p.name);
    REQUIRE(t.shape.size() == p.rank);
    for (std::size_t d = 0; d < p.rank; ++d) CHECK(t.shape[d] == p.dims[d]);
    REQUIRE(t.size() == p.size);
    CHECK(p.trainable);
    std::copy(t.values.begin(), t.values.end(), p.value);
    total += p.size;
  }
  CHECK(total == MiniCNN::parameter_count);

  const auto x = to_floats(g.tensor("x").values);
  std::vector<std::int32_t> labels;
  for (double l : g.tensor("labels").values) labels.push_back(static_cast<std::int32_t>(l));
  REQUIRE(labels.size() == 3);

  const auto logits = model.forward(x);
  CHECK(logits.batch == 3);
  check_close(logits.values(), g.tensor("logits").values, 1e-4, "logits");

  const st::Loss loss = st::cross_entropy(logits, labels);
  CHECK(loss.value == doctest::Approx(g.scalar("loss")).epsilon(1e-5));

  // Poison the gradients: backward must overwrite them, not accumulate into them.
  std::fill(model.gradient_data().begin(), model.gradient_data().end(), 123.f);
  model.backward(loss);
  for (const st::Parameter& p : model.parameters()) {
    const std::string key = "grad." + std::string(p.name);
    check_close(p.grads(), g.tensor(key).values, 1e-4, key);
  }
}

TEST_CASE("the allocation counter sees operator new and malloc") {
  {
    const strata::test::AllocationCounter counter;
    delete static_cast<int*>(volatile_sink(new int(1)));
    CHECK(counter.allocations() == 1);
  }
  if (strata::test::counts_malloc) {
    const strata::test::AllocationCounter counter;
    std::free(volatile_sink(std::malloc(64)));
    CHECK(counter.allocations() == 1);
  } else {
    MESSAGE("malloc is not counted in this build (sanitizer or non-glibc)");
  }
}

TEST_CASE("a steady-state training step allocates nothing") {
  constexpr std::size_t batch = 16;
  const auto x = random_values(batch * 784, 1);
  const auto labels = random_labels(batch, 10, 2);

  const auto steady_allocations = [&](st::Model<SimpleCNN>& model, auto& optimizer) {
    const auto steps = strata::test::steady_step_allocations(model, optimizer, x, labels);
    CHECK(std::isfinite(steps.last_loss));
    return steps.host_allocations;
  };

  SUBCASE("Adam") {
    st::Model<SimpleCNN> model{st::seed{3}};
    st::Adam adam{model.parameters(), {.lr = 1e-3f}};
    CHECK(steady_allocations(model, adam) == 0);
  }
  SUBCASE("SGD with momentum") {
    st::Model<SimpleCNN> model{st::seed{3}};
    st::SGD sgd{model.parameters(), {.lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-4f}};
    CHECK(steady_allocations(model, sgd) == 0);
  }
  SUBCASE("inference in eval mode") {
    st::Model<SimpleCNN> model{st::seed{3}};
    model.eval();
    for (int i = 0; i < 2; ++i) model.forward(x);
    float checksum = 0;
    const strata::test::AllocationCounter counter;
    for (int i = 0; i < 5; ++i) checksum += model.forward(x).values()[0];
    const std::size_t allocations = counter.allocations();
    CHECK(allocations == 0);
    CHECK(std::isfinite(checksum));
  }
}

TEST_CASE("train() and eval() switch dropout on and off") {
  using Net = st::Sequential<st::InputFlat<4000>, st::Dropout<50>, st::ReLU>;
  st::Model<Net> model{st::seed{5}};
  const std::vector<float> x(4000, 1.f);
  CHECK(model.training());

  auto fraction_zero = [](std::span<const float> y) {
    return double(std::count(y.begin(), y.end(), 0.f)) / double(y.size());
  };

  const auto first = copy_of(model.forward(x).values());
  // Inverted dropout: survivors are scaled by 1/(1-p) = 2.
  CHECK(std::all_of(first.begin(), first.end(), [](float v) { return v == 0.f || v == 2.f; }));
  CHECK(fraction_zero(first) == doctest::Approx(0.5).epsilon(0.1));
  const auto second = copy_of(model.forward(x).values());
  CHECK(first != second);  // a fresh mask every training forward

  model.eval();
  CHECK_FALSE(model.training());
  const auto evaluated = copy_of(model.forward(x).values());
  CHECK(evaluated == x);

  model.train();
  CHECK(model.training());
  CHECK(fraction_zero(model.forward(x).values()) == doctest::Approx(0.5).epsilon(0.1));
  model.train(false);
  CHECK_FALSE(model.training());
}

TEST_CASE("activation<I>() is the output of layer I") {
  st::Model<SimpleCNN> model{st::seed{11}};
  constexpr std::size_t batch = 3;
  const auto x = random_values(batch * 784, 12);
  const auto logits = model.forward(x);

  const auto conv = model.activation<0>();
  const auto relu = model.activation<1>();
  REQUIRE(conv.size() == batch * 32 * 28 * 28);
  REQUIRE(relu.size() == conv.size());
  std::size_t negative = 0, mismatched = 0, zeros = 0;
  for (std::size_t i = 0; i < conv.size(); ++i) {
    negative += relu[i] < 0;
    mismatched += relu[i] != std::max(0.f, conv[i]);
    zeros += relu[i] == 0;
  }
  CHECK(negative == 0);
  CHECK(mismatched == 0);
  // Random weights and inputs: both signs occur, so the check above compared something.
  CHECK(zeros > 0);
  CHECK(zeros < conv.size());

  CHECK(model.activation<5>().size() == batch * 64 * 7 * 7);
  // Flatten changes no values, only the shape.
  const auto pooled = model.activation<5>(), flat = model.activation<6>();
  CHECK(std::equal(pooled.begin(), pooled.end(), flat.begin(), flat.end()));
  // The last layer's activation is the output itself.
  const auto last = model.activation<9>();
  CHECK(last.data() == logits.data);
  CHECK(last.size() == batch * 10);
}

TEST_CASE("forward rejects an input that is not a whole number of samples") {
  st::Model<SimpleCNN> model;
  const std::vector<float> odd(2 * 784 + 1, 0.f);
  CHECK_THROWS_AS(model.forward(odd), std::invalid_argument);
  try {
    model.forward(odd);
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CAPTURE(what);
    CHECK(contains(what, "1569"));
    CHECK(contains(what, "784"));
    CHECK(contains(what, "1x28x28"));
  }
  CHECK_THROWS_AS(model.forward(std::span<const float>{}), std::invalid_argument);
}

TEST_CASE("backward needs a loss computed from this model's last output") {
  st::Model<SimpleCNN> a{st::seed{1}}, b{st::seed{2}};
  const auto x = random_values(2 * 784, 3);
  const std::vector<std::int32_t> labels{1, 2};

  CHECK_THROWS_AS(a.backward(st::Loss{}), std::logic_error);  // nothing forwarded yet

  const st::Loss from_a = st::cross_entropy(a.forward(x), labels);
  b.forward(x);
  CHECK_THROWS_AS(b.backward(from_a), std::logic_error);
  CHECK_THROWS_AS(b.backward(st::Loss{}), std::logic_error);
  CHECK_NOTHROW(a.backward(from_a));
}

// The same batch size keeps the same buffers, so only the generation tells an earlier
// forward's loss from the last one's: a validation batch between the loss and backward.
TEST_CASE("backward refuses a loss computed before the last forward") {
  st::Model<SimpleCNN> model{st::seed{1}};
  const auto train_x = random_values(2 * 784, 3), validation_x = random_values(2 * 784, 4);
  const std::vector<std::int32_t> labels{1, 2};

  const st::Loss stale = st::cross_entropy(model.forward(train_x), labels);
  model.forward(validation_x);
  try {
    model.backward(stale);
    FAIL("backward accepted a loss from an earlier forward");
  } catch (const std::logic_error& e) {
    CAPTURE(e.what());
    CHECK(contains(e.what(), "earlier forward"));
  }

  // A loss of the last forward is accepted, and the gradients are that forward's.
  st::Model<SimpleCNN> reference{st::seed{1}};
  forward_backward(reference, validation_x, labels);
  const st::Loss fresh = st::cross_entropy(model.forward(validation_x), labels);
  model.backward(fresh);
  check_close(model.gradient_data(), copy_of(reference.gradient_data()), 0,
              "gradients of the last forward");
  CHECK_NOTHROW(model.backward(fresh));  // backward overwrites: running it twice is harmless

  // Every forward is a new generation.
  CHECK(model.forward(train_x).generation == fresh.generation + 1);
}

// d(loss)/d(input) for a network that starts with Linear is W^T times the logits' gradient,
// which cross_entropy left in the output's gradient slot.
TEST_CASE("backward can also write the input gradient") {
  using Net = st::Sequential<st::InputFlat<5>, st::Linear<3>>;
  st::Model<Net> model{st::seed{2}};
  const auto x = random_values(2 * 5, 5);
  const std::vector<std::int32_t> labels{0, 2};
  const auto logits = model.forward(x);
  const st::Loss loss = st::cross_entropy(logits, labels);
  std::vector<float> dx(x.size());
  model.backward(loss, dx);
  const auto parameter_grads = copy_of(model.gradient_data());
  const float* weight = model.parameters()[0].value;  // [3, 5]
  std::vector<float> expected(dx.size(), 0.f);
  for (std::size_t n = 0; n < 2; ++n)
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t k = 0; k < 3; ++k)
        expected[n * 5 + i] += weight[k * 5 + i] * logits.grad[n * 3 + k];
  check_close(dx, expected, 1e-6, "input gradient");

  model.backward(loss);  // without the input gradient, the same parameter gradients
  check_close(model.gradient_data(), parameter_grads, 0, "parameter gradients");

  std::vector<float> wrong_size(x.size() + 1);
  CHECK_THROWS_AS(model.backward(loss, wrong_size), std::invalid_argument);
}

// Through convolution, Tanh and Linear: central differences of the loss in float, so the
// tolerance is float's (a step of 1e-2 against logits of order 1).
TEST_CASE("the input gradient matches finite differences of the loss") {
  using Net = st::Sequential<st::Input<2, 5, 5>, st::Conv2d<3, 3, st::Pad<1>>, st::Tanh,
                             st::Flatten, st::Linear<4>>;
  st::Model<Net> model{st::seed{3}};
  auto x = random_values(3 * 50, 6);
  const std::vector<std::int32_t> labels{0, 3, 1};
  std::vector<float> dx(x.size());
  model.backward(st::cross_entropy(model.forward(x), labels), dx);
  const double largest = std::abs(*std::max_element(
      dx.begin(), dx.end(), [](float a, float b) { return std::abs(a) < std::abs(b); }));
  REQUIRE(largest > 1e-3);
  for (std::size_t i = 0; i < x.size(); i += 7) {
    CAPTURE(i);
    const float original = x[i], step = 1e-2f;
    x[i] = original + step;
    const double plus = st::cross_entropy(model.forward(x), labels).value;
    x[i] = original - step;
    const double minus = st::cross_entropy(model.forward(x), labels).value;
    x[i] = original;
    CHECK(std::abs((plus - minus) / (2 * double(step)) - double(dx[i])) <= 2e-3 * largest);
  }
}

// PyTorch refuses a training-mode BatchNorm that sees one value per channel: there is no
// unbiased variance to move the running estimate with, and the output would be its bias alone.
TEST_CASE("BatchNorm refuses one value per channel in training") {
  using Flat =
      st::Sequential<st::InputFlat<6>, st::Linear<4>, st::BatchNorm2d<>, st::ReLU, st::Linear<3>>;
  st::Model<Flat> model{st::seed{4}};
  const auto one = random_values(6, 7), two = random_values(12, 8);
  try {
    model.forward(one);
    FAIL("a training forward of one sample through BatchNorm1d was accepted");
  } catch (const std::invalid_argument& e) {
    CAPTURE(e.what());
    CHECK(contains(e.what(), "BatchNorm1d(4)"));
    CHECK(contains(e.what(), "more than one value per channel"));
  }
  CHECK_NOTHROW(model.forward(two));
  model.eval();
  CHECK_NOTHROW(model.forward(one));

  // A 1x1 plane is one value per channel too, as for nn.BatchNorm2d on [1, C, 1, 1].
  using Pixel = st::Sequential<st::Input<3, 1, 1>, st::BatchNorm2d<>, st::Flatten>;
  st::Model<Pixel> pixel;
  CHECK_THROWS_AS(pixel.forward(random_values(3, 9)), std::invalid_argument);
  CHECK_NOTHROW(pixel.forward(random_values(6, 9)));
}

// Names of exactly Name::capacity characters are kept whole; one more does not compile
// (tests/compile_fail/tensor_name_too_long.cpp).
using LongestName =
    st::Sequential<st::InputFlat<2>, st::Named<"a_block_whose_name_is_long_enough_that_its_weight_"
                                               "takes_every_character_a_name_can_ho",
                                               st::Sequential<st::Named<"fc", st::Linear<1>>>>>;
static_assert(LongestName::params[0].name.view().size() == st::Name::capacity);
static_assert(LongestName::params[0].name.view().ends_with(".fc.weight"));
static_assert(!LongestName::params[0].name.truncated);

TEST_CASE("cross_entropy rejects bad labels") {
  st::Model<SimpleCNN> model;
  const auto logits = model.forward(random_values(2 * 784, 4));
  const std::vector<std::int32_t> too_big{0, 10}, negative{-1, 0}, too_few{3};
  CHECK_THROWS_AS(st::cross_entropy(logits, too_big), std::out_of_range);
  CHECK_THROWS_AS(st::cross_entropy(logits, negative), std::out_of_range);
  CHECK_THROWS_AS(st::cross_entropy(logits, too_few), std::invalid_argument);
  try {
    st::cross_entropy(logits, too_big);
  } catch (const std::out_of_range& e) {
    CAPTURE(e.what());
    CHECK(contains(e.what(), "label 10"));
    CHECK(contains(e.what(), "[0, 10)"));
  }
  const std::vector<std::int32_t> good{0, 9};
  CHECK_NOTHROW(st::cross_entropy(logits, good));
}

TEST_CASE("the batch size may change between calls") {
  const auto x = random_values(8 * 784, 21);
  const auto labels = random_labels(8, 10, 22);
  auto samples = [&](std::size_t first, std::size_t count) {
    return std::span<const float>(x).subspan(first * 784, count * 784);
  };

  // Reference: each sample through its own fresh model.
  std::vector<std::vector<float>> one_by_one;
  for (std::size_t n = 0; n < 8; ++n) {
    st::Model<SimpleCNN> fresh{st::seed{9}};
    one_by_one.push_back(copy_of(fresh.forward(samples(n, 1)).values()));
  }

  st::Model<SimpleCNN> model{st::seed{9}};
  auto check_batch = [&](std::size_t first, std::size_t count) {
    CAPTURE(first);
    CAPTURE(count);
    const auto out = model.forward(samples(first, count));
    REQUIRE(out.batch == count);
    for (std::size_t n = 0; n < count; ++n)
      check_close(out.sample(n), one_by_one[first + n], 1e-5,
                  "sample " + std::to_string(first + n));
  };
  check_batch(0, 2);
  check_batch(0, 8);  // grows the arena
  check_batch(5, 3);  // smaller again, in the larger arena
  check_batch(7, 1);

  // Gradients too: after a larger batch, a smaller one must not see stale data.
  st::Model<SimpleCNN> reference{st::seed{9}};
  forward_backward(reference, samples(2, 3), std::span(labels).subspan(2, 3));
  forward_backward(model, samples(0, 8), labels);
  forward_backward(model, samples(2, 3), std::span(labels).subspan(2, 3));
  const auto expected = copy_of(reference.gradient_data());
  check_close(model.gradient_data(), expected, 1e-5, "gradients after a batch-size change");
}

TEST_CASE("one thread and two threads agree") {
  const ThreadsGuard guard;
  const auto x = random_values(6 * 784, 31);
  const auto labels = random_labels(6, 10, 32);

  st::Model<SimpleCNN> model{st::seed{33}};
  st::backend::cpu::set_threads(1);
  const double loss1 = forward_backward(model, x, labels);
  CHECK(model.threads() == 1);
  const auto logits1 = copy_of(model.activation<9>());
  const auto grads1 = copy_of(model.gradient_data());

  st::backend::cpu::set_threads(2);
  const double loss2 = forward_backward(model, x, labels);
  if (model.threads() != 2) MESSAGE("built without OpenMP: both runs used one thread");
  const auto logits2 = copy_of(model.activation<9>());
  const auto grads2 = copy_of(model.gradient_data());

  CHECK(loss2 == doctest::Approx(loss1).epsilon(1e-5));
  check_close(logits2, logits1, 1e-5, "logits");
  check_close(grads2, grads1, 1e-5, "gradients");
}
