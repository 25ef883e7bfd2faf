// What each compile-time benchmark instantiates: one model's full training step (forward,
// cross-entropy, backward, SGD with momentum) at batch 2.
#pragma once

#include <cstdint>
#include <vector>

#include <strata/strata.hpp>

template <class Net>
int training_step() {
  strata::Model<Net> model{strata::seed{1}};
  strata::SGD sgd{model.parameters(), {.lr = 0.1f, .momentum = 0.9f}};
  const std::vector<float> images(2 * Net::input_shape::size, 0.0f);
  const std::vector<std::int32_t> labels{0, 1};
  model.backward(strata::cross_entropy(model.forward(images), labels));
  sgd.step();
  return 0;
}
