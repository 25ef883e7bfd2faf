// Uniform random test data, reproducible from a seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace strata::test {

inline std::vector<float> random_values(std::size_t count, std::uint64_t seed, float lo = -1.f,
                                        float hi = 1.f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(lo, hi);
  std::vector<float> values(count);
  for (float& x : values) x = uniform(rng);
  return values;
}

}  // namespace strata::test
