// The CPU's measured limits, for benchmarks that report a fraction of them: fp32 FMA
// throughput per thread and memory bandwidth. Portable: GCC/Clang vector extensions compile to
// the widest FMA the target has (AVX-512 with -march=native on this machine).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

#include "strata/backend/cpu/memory.hpp"
#include "strata/backend/cpu/parallel.hpp"

namespace strata::backend::cpu {

namespace detail {

using Clock = std::chrono::steady_clock;

// A vector of as many floats as the target's widest register.
#if defined(__AVX512F__)
inline constexpr std::size_t vector_floats = 16;
#elif defined(__AVX__)
inline constexpr std::size_t vector_floats = 8;
#else
inline constexpr std::size_t vector_floats = 4;
#endif
typedef float FloatVector __attribute__((vector_size(vector_floats * sizeof(float))));

// 12 independent FMA chains: more than latency x ports on any current x86 core.
inline double fma_seconds(long iterations, float& sink) {
  constexpr int chains = 12;
  FloatVector acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = FloatVector{} + 0.001f * float(c);
  FloatVector a = FloatVector{} + 0.9999f, b = FloatVector{} + 1e-4f;
  const auto start = Clock::now();
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < chains; ++c) acc[c] = acc[c] * a + b;
    // Keeps the compiler from collapsing the loop.
    __asm__ volatile("" : "+x"(a));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (int c = 0; c < chains; ++c)
    for (std::size_t l = 0; l < vector_floats; ++l) sink += acc[c][l];
  return seconds;
}

}  // namespace detail

// Peak fp32 GFLOP/s of `threads` threads running FMAs together (best of a few tries).
inline double peak_gflops(std::size_t threads) {
  constexpr long iterations = 20'000'000;
  double best = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::vector<double> seconds(threads);
    std::vector<float> sinks(threads);
    parallel_for(threads, threads, [&](std::size_t t, std::size_t) {
      seconds[t] = detail::fma_seconds(iterations, sinks[t]);
    });
    const double slowest = *std::max_element(seconds.begin(), seconds.end());
    const double flops = 2.0 * 12 * detail::vector_floats * double(iterations) * double(threads);
    best = std::max(best, flops / slowest * 1e-9);
  }
  return best;
}

// Memory bandwidth in GB/s of the triad a[i] = b[i] + s * c[i] over arrays far larger than the
// caches (bytes counted: two reads and one write), threads splitting the range.
inline double triad_gbytes_per_second(std::size_t threads, std::size_t floats = 32u << 20) {
  AlignedBuffer<float> a(floats), b(floats), c(floats);
  parallel_for(threads, threads, [&](std::size_t t, std::size_t) {
    const std::size_t begin = floats * t / threads, end = floats * (t + 1) / threads;
    std::fill(a.data() + begin, a.data() + end, 0.0f);
    std::fill(b.data() + begin, b.data() + end, 1.0f);
    std::fill(c.data() + begin, c.data() + end, 2.0f);
  });
  double best = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto start = detail::Clock::now();
    parallel_for(threads, threads, [&](std::size_t t, std::size_t) {
      const std::size_t begin = floats * t / threads, end = floats * (t + 1) / threads;
      float* out = a.data();
      const float *x = b.data(), *y = c.data();
      for (std::size_t i = begin; i < end; ++i) out[i] = x[i] + 0.5f * y[i];
    });
    const double seconds = std::chrono::duration<double>(detail::Clock::now() - start).count();
    best = std::max(best, 3.0 * sizeof(float) * double(floats) / seconds * 1e-9);
  }
  return best;
}

}  // namespace strata::backend::cpu
