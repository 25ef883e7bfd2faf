// Draws from mt19937_64 that are the same on every standard library: the standard fixes the
// engine's sequence but not std::uniform_*_distribution's, so shuffles and augmentations written
// with these reproduce everywhere (normal's up to the last bits of the C library's log and cos).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <random>
#include <span>
#include <utility>

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

// Hand-rolled Fisher-Yates instead of std::shuffle, whose output differs between standard
// libraries.
inline void shuffle(std::span<std::size_t> order, std::mt19937_64& rng) {
  for (std::size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[uniform_below(rng, i)]);
}

// A normal draw by Box-Muller from two uniform draws, where std::normal_distribution's algorithm
// is the library's choice. 1 - u lies in (0, 1], so the logarithm is finite.
inline double normal(std::mt19937_64& rng, double mean, double stddev) {
  const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform(rng, 0.0, 1.0)));
  return mean + stddev * radius * std::cos(2.0 * std::numbers::pi * uniform(rng, 0.0, 1.0));
}

}  // namespace strata
