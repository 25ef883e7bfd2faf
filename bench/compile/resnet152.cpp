// Compile-time benchmark: ResNet-152's full training step (forward, loss, backward, SGD).
#include <strata/models/resnet.hpp>
#include <strata/strata.hpp>

namespace st = strata;

int main() {
  st::Model<st::models::ResNet152<>> model{st::seed{1}};
  st::SGD sgd{model.parameters(), {.lr = 0.1f, .momentum = 0.9f}};
  const std::vector<float> images(2 * 3 * 224 * 224, 0.0f);
  const std::vector<std::int32_t> labels{0, 1};
  model.backward(st::cross_entropy(model.forward(images), labels));
  sgd.step();
  return 0;
}
