// Must not compile: cross-entropy needs flat logits, and this network ends in an image.
#include <strata/strata.hpp>

#include <cstdint>
#include <vector>

namespace st = strata;

using Net = st::Sequential<st::Input<1, 8, 8>, st::Conv2d<2, 3>>;

int main() {
  st::Model<Net> model;
  const std::vector<float> x(64, 0.f);
  const std::vector<std::int32_t> labels{0};
  return static_cast<int>(st::cross_entropy(model.forward(x), labels).value);
}
