// The --device flag every example shares: which backends this build has, the check of the
// flag's value, and the call of the example's code with the backend it names.
#pragma once

#include <iostream>
#include <string>
#include <string_view>

#include <strata/strata.hpp>
#if defined(STRATA_EXAMPLES_CUDA)
#include <strata/backend/cuda/kernels.hpp>
#endif

namespace examples {

// Whether this build of the examples has the CUDA backend (the *_cuda targets, built by nvcc,
// and the host-run builds of the test suite).
#if defined(STRATA_EXAMPLES_CUDA)
inline constexpr bool has_cuda = true;
#else
inline constexpr bool has_cuda = false;
#endif

// The reason --device cannot be `device` in this build, or "" when it can.
inline std::string device_problem(std::string_view program, const std::string& device) {
  if (device != "cpu" && device != "cuda")
    return "unknown --device '" + device + "'; strata has cpu and cuda";
  if (device == "cuda" && !has_cuda)
    return "--device cuda: this build has no CUDA backend; configure with -DSTRATA_CUDA=ON and "
           "run " +
           std::string(program) + "_cuda (docs/cuda.md)";
#if defined(STRATA_EXAMPLES_CUDA) && STRATA_CUDA_ON_DEVICE
  if (device == "cuda")
    if (const std::string reason = strata::backend::cuda::no_device_reason(); !reason.empty())
      return "--device cuda: " + reason;
#endif
  return "";
}

// Calls f.template operator()<Backend>() with the backend that `device` names (checked by
// device_problem) and returns what it returns.
template <class F>
decltype(auto) on_device([[maybe_unused]] const std::string& device, F&& f) {
#if defined(STRATA_EXAMPLES_CUDA)
  if (device == "cuda") return f.template operator()<strata::cuda>();
#endif
  return f.template operator()<strata::cpu>();
}

}  // namespace examples
