// What "a steady training step allocates nothing" measures, on every backend: the allocations
// of five training steps made after two warm-up steps (which grow the model's arena, the
// per-thread workspaces and the loss's staging, and start OpenMP's threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "allocation_counter.hpp"
#include "strata/train/loss.hpp"

namespace strata::test {

struct SteadySteps {
  std::size_t host_allocations = 0;
  // What device_allocations() counted over the same steps (a backend's own counter).
  std::size_t device_allocations = 0;
  double last_loss = 0;
};

inline std::size_t no_device_counter() {
  return 0;
}

// No doctest assertion inside: it may allocate itself. The caller checks the counts and that
// the last loss is finite.
template <class Model, class Optimizer, class DeviceCounter = decltype(&no_device_counter)>
SteadySteps steady_step_allocations(Model& model, Optimizer& optimizer, std::span<const float> x,
                                    std::span<const std::int32_t> labels,
                                    DeviceCounter device_allocations = &no_device_counter) {
  for (int i = 0; i < 2; ++i) {
    model.backward(cross_entropy(model.forward(x), labels));
    optimizer.step();
  }
  SteadySteps result;
  const std::size_t device_before = device_allocations();
  const AllocationCounter counter;
  for (int i = 0; i < 5; ++i) {
    const Loss loss = cross_entropy(model.forward(x), labels);
    model.backward(loss);
    optimizer.step();
    result.last_loss = loss.value;
  }
  result.host_allocations = counter.allocations();
  result.device_allocations = device_allocations() - device_before;
  return result;
}

}  // namespace strata::test
