// Prints the machine's measured fp32 FMA peak and memory bandwidth for 1 and for every thread
// OpenMP would use, the reference for the "fraction of peak" figures in docs/PERFORMANCE.md.
#include <cstdio>
#include <vector>

#include <strata/backend/cpu/machine.hpp>
#include <strata/strata.hpp>

int main() {
  const std::size_t most = strata::backend::cpu::max_threads();
  std::vector<std::size_t> thread_counts{1};
  if (most > 1) thread_counts.push_back(most);
  for (const std::size_t threads : thread_counts) {
    std::printf("%zu thread%s: fp32 FMA peak %.1f GFLOP/s, triad bandwidth %.1f GB/s\n", threads,
                threads == 1 ? "" : "s", strata::backend::cpu::peak_gflops(threads),
                strata::backend::cpu::triad_gbytes_per_second(threads));
  }
  return 0;
}
