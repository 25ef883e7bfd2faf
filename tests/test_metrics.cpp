// strata/train/metrics.hpp: top-k, softmax and the Evaluation accumulator (top-1, top-k,
// confusion).
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <strata/core/shape.hpp>
#include <strata/train/metrics.hpp>

namespace st = strata;

TEST_CASE("metrics: top_k orders by value, ties by index") {
  const std::vector<float> v{0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  CHECK(st::top_k(v, 3) == std::vector<std::size_t>{1, 3, 4});
  CHECK(st::top_k(v, 9) == std::vector<std::size_t>{1, 3, 4, 0, 2});
  CHECK(st::top_k(v, 0).empty());
}

TEST_CASE("metrics: softmax is exp(x) / sum exp, without overflow") {
  const std::vector<float> logits{1.0f, 2.0f, 3.0f};
  const double total = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const auto p = st::softmax(logits);
  for (std::size_t i = 0; i < 3; ++i) CHECK(p[i] == doctest::Approx(std::exp(i + 1.0) / total));
  const auto huge = st::softmax(std::vector<float>{1000.0f, 1000.0f});
  CHECK(huge[0] == doctest::Approx(0.5));
  CHECK(huge[1] == doctest::Approx(0.5));
}

TEST_CASE("metrics: Evaluation counts top-1, top-k and the confusion matrix") {
  // Four samples of three classes, k = 2:
  //   label 0, ranked 0 > 1 > 2: top-1 right
  //   label 1, ranked 0 > 1 > 2: top-2 right
  //   label 2, ranked 1 > 0 > 2: wrong
  //   label 2, ranked 2 > 0 > 1: top-1 right
  const std::vector<float> logits{3, 2, 1, 5, 4, -1, 0.5f, 0.7f, 0.1f, 1, 0, 2};  // [4, 3]
  const std::vector<std::int32_t> labels{0, 1, 2, 2};
  st::Evaluation eval(3, 2);
  eval.add(st::Output<st::Shape<3>>{logits.data(), nullptr, 4}, labels);
  CHECK(eval.count() == 4);
  CHECK(eval.top1() == doctest::Approx(0.5));
  CHECK(eval.topk() == doctest::Approx(0.75));
  const std::size_t want[3][3] = {{1, 0, 0}, {1, 0, 0}, {0, 1, 1}};
  for (std::size_t t = 0; t < 3; ++t)
    for (std::size_t p = 0; p < 3; ++p) CHECK(eval.confusion(t, p) == want[t][p]);

  const std::vector<std::string_view> names{"cat", "dog", "a long name"};
  CHECK(eval.confusion_table(names) ==
        "true \\ predicted    cat    dog  a lon\n"
        "cat                   1      0      0\n"
        "dog                   1      0      0\n"
        "a long name           0      1      1");
}

TEST_CASE("metrics: Evaluation refuses logits and labels that do not fit") {
  st::Evaluation eval(3);
  const std::vector<float> two{1, 2};
  CHECK_THROWS_WITH(eval.add(two, 0), doctest::Contains("2 logits for 3 classes"));
  const std::vector<float> three{1, 2, 3};
  CHECK_THROWS_WITH(eval.add(three, 3), doctest::Contains("label 3 is not a class"));
  CHECK_THROWS_WITH(eval.add(three, -1), doctest::Contains("label -1"));
  CHECK_THROWS_WITH(st::Evaluation(0), doctest::Contains("positive"));
  CHECK(eval.count() == 0);
}
