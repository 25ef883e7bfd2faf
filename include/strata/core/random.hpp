// Draws from mt19937_64 that are the same on every standard library: the standard fixes the
// engine's sequence but not std::uniform_*_distribution's, so shuffles and augmentations written
// with these reproduce everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

namespace strata {

// A double in [low, high), from the draw's top 53 bits.
inline double uniform(std::mt19937_64& rng, double low, double high) {
  return low + (high - low) * static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// An integer in [0, bound), exactly uniform: draws below 2^64 mod bound are rejected.
inline std::size_t uniform_below(std::mt19937_64& rng, std::size_t bound) {
  const std::uint64_t threshold = (0 - std::uint64_t{bound}) % bound;
  std::uint64_t r;
  do r = rng();
  while (r < threshold);
  return static_cast<std::size_t>(r % bound);
}

}  // namespace strata
