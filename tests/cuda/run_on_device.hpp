// main() of the GPU tests: runs doctest where a CUDA device is present; elsewhere says why not
// and returns 77, which SKIP_RETURN_CODE makes ctest report as skipped rather than passed.
#pragma once

#include <doctest/doctest.h>

#include <cuda_runtime.h>

#include <cstdio>

namespace strata::test {

inline int run_on_device(int argc, char** argv) {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: the GPU tests are skipped (%s)\n",
                status != cudaSuccess ? cudaGetErrorString(status) : "none found");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}

}  // namespace strata::test
