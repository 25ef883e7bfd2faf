// main() of the GPU tests: runs doctest where a CUDA device is present; elsewhere says why not
// and returns 77, which SKIP_RETURN_CODE makes ctest report as skipped rather than passed.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "strata/backend/cuda/memory.cuh"

namespace strata::test {

inline int run_on_device(int argc, char** argv) {
  if (const std::string reason = backend::cuda::no_device_reason(); !reason.empty()) {
    std::printf("the GPU tests are skipped: %s\n", reason.c_str());
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}

}  // namespace strata::test
