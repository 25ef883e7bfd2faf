// Thread control for the CPU backend. OpenMP is optional: without it everything runs on one
// thread and these helpers become trivial.
#pragma once

#include <cstddef>

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace strata::backend::cpu {

inline std::size_t max_threads() {
#if defined(_OPENMP)
  return static_cast<std::size_t>(omp_get_max_threads());
#else
  return 1;
#endif
}

// Sets the number of threads strata's kernels use (OpenMP's process-wide setting).
inline void set_threads(std::size_t threads) {
#if defined(_OPENMP)
  omp_set_num_threads(static_cast<int>(threads == 0 ? 1 : threads));
#else
  (void)threads;
#endif
}

// Denormal floats (below 1.2e-38) take a microcode slow path on x86. Training drives small
// gradients and Adam's second moments there, and the Fashion-MNIST job slowed by a third from
// its second epoch on. strata's kernels therefore run with flush-to-zero and
// denormals-are-zero, as oneDNN's do; the thread's previous setting is restored afterwards.
class DenormalsFlushed {
 public:
#if defined(__SSE__) || defined(__x86_64__)
  DenormalsFlushed() : saved_(_mm_getcsr()) {
    _mm_setcsr(saved_ | flush_to_zero | denormals_are_zero);
  }
  ~DenormalsFlushed() {
    _mm_setcsr(saved_);
  }

 private:
  static constexpr unsigned flush_to_zero = 0x8000, denormals_are_zero = 0x0040;
  unsigned saved_;
#endif
 public:
  DenormalsFlushed(const DenormalsFlushed&) = delete;
  DenormalsFlushed& operator=(const DenormalsFlushed&) = delete;
};

// Runs body(i, slot) for i in [0, count) on at most `threads` threads. slot < min(threads,
// count) identifies the running thread, so that body can use per-thread scratch memory; body
// must otherwise only write memory owned by i.
template <class Body>
void parallel_for(std::size_t threads, std::size_t count, Body&& body) {
#if defined(_OPENMP)
  if (count > 1 && threads > 1 && !omp_in_parallel()) {
    const int team = static_cast<int>(threads < count ? threads : count);
#pragma omp parallel num_threads(team)
    {
      const DenormalsFlushed flushed;
#pragma omp for schedule(static)
      for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(count); ++i)
        body(static_cast<std::size_t>(i), static_cast<std::size_t>(omp_get_thread_num()));
    }
    return;
  }
#endif
  (void)threads;
  for (std::size_t i = 0; i < count; ++i) body(i, std::size_t{0});
}

}  // namespace strata::backend::cpu
