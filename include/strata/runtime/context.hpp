// Where a bound layer's run-time context is assembled: the model, the per-layer benchmarks and
// the conformance harness all build their Ctx here, so that a new field reaches every caller.
#pragma once

#include <cstddef>

#include "strata/backend/kernels.hpp"
#include "strata/core/layer.hpp"

namespace strata {

// The memory one call of a bound layer runs on, all of it the backend's.
template <class T>
struct LayerMemory {
  const T* params = nullptr;
  T* grads = nullptr;
  T* saved = nullptr;
  T* scratch = nullptr;
  T* buffers = nullptr;
};

template <class Backend, class T>
Ctx<T, Backend> make_context(const LayerMemory<T>& memory, std::size_t batch, exec_t<Backend> exec,
                             bool training, Rng* rng) {
  return {.params = memory.params,
          .grads = memory.grads,
          .saved = memory.saved,
          .scratch = memory.scratch,
          .buffers = memory.buffers,
          .batch = batch,
          .exec = exec,
          .training = training,
          .rng = rng};
}

}  // namespace strata
