// Counts every heap allocation the process makes, to prove that a code path allocates nothing.
//
// INCLUDE THIS HEADER IN EXACTLY ONE TRANSLATION UNIT PER TEST EXECUTABLE. It does not just
// declare things: it replaces the global operator new/delete (every form: plain, array, nothrow,
// aligned, sized) and, on glibc, malloc/calloc/realloc/free and the aligned C allocators. A
// second including TU would define them twice (a link error); a TU that is never linked in
// would silently count nothing.
//
// Why malloc too: operator new alone misses allocations that bypass it, notably Eigen's
// aligned_malloc (which strata uses for model arenas and GEMM workspaces) and the OpenMP
// runtime. On glibc the replacements forward to glibc's own __libc_* entry points, so memory
// from any allocator may be freed by any deallocator exactly as before; only a counter changes.
// Sanitizers interpose malloc themselves, so under them (or off glibc) only operator new is
// counted; `strata::test::counts_malloc` says which.
//
// Usage:
//   const strata::test::AllocationCounter counter;   // snapshot
//   ... code under test, with no doctest assertion inside (they may allocate) ...
//   CHECK(counter.allocations() == 0);
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || \
    __has_feature(thread_sanitizer)
#define STRATA_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STRATA_TEST_SANITIZED 1
#endif

#if defined(__GLIBC__) && !defined(STRATA_TEST_SANITIZED)
#define STRATA_TEST_COUNT_MALLOC 1
#else
#define STRATA_TEST_COUNT_MALLOC 0
#endif

#if STRATA_TEST_COUNT_MALLOC
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* p);
}
#endif

namespace strata::test {

inline constexpr bool counts_malloc = STRATA_TEST_COUNT_MALLOC != 0;

// Relaxed atomics: the counts must be exact across threads (OpenMP workers allocate too), but
// they order nothing else.
inline std::atomic<std::size_t> operator_new_calls{0};
inline std::atomic<std::size_t> malloc_calls{0};

// Every allocation so far: operator new (all forms) plus, where counted, the C allocators
// called directly. operator new itself does not go through the counted malloc, so nothing is
// counted twice.
inline std::size_t heap_allocations() {
  return operator_new_calls.load(std::memory_order_relaxed) +
         malloc_calls.load(std::memory_order_relaxed);
}

// Allocations since construction.
class AllocationCounter {
 public:
  AllocationCounter() : start_(heap_allocations()) {}
  std::size_t allocations() const { return heap_allocations() - start_; }

 private:
  std::size_t start_;
};

namespace detail {

inline void* raw_malloc(std::size_t size) {
#if STRATA_TEST_COUNT_MALLOC
  return __libc_malloc(size);
#else
  return std::malloc(size);
#endif
}

inline void raw_free(void* p) {
#if STRATA_TEST_COUNT_MALLOC
  __libc_free(p);
#else
  std::free(p);
#endif
}

inline void* raw_aligned(std::size_t size, std::size_t alignment) {
#if STRATA_TEST_COUNT_MALLOC
  return __libc_memalign(alignment, size);
#else
  // std::aligned_alloc wants a size that is a multiple of the alignment.
  return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
#endif
}

inline void* counted_new(std::size_t size) {
  operator_new_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = raw_malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

inline void* counted_new(std::size_t size, std::align_val_t alignment) {
  operator_new_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = raw_aligned(size == 0 ? 1 : size, static_cast<std::size_t>(alignment))) return p;
  throw std::bad_alloc();
}

}  // namespace detail
}  // namespace strata::test

// nvcc declares the allocation functions host-and-device and refuses their replacements: a
// CUDA test includes this header with STRATA_TEST_ALLOCATION_COUNTER_ELSEWHERE and links one
// C++ file that includes it whole (tests/cuda/*_host.cpp).
#if !defined(STRATA_TEST_ALLOCATION_COUNTER_ELSEWHERE)

// noinline keeps GCC from seeing malloc/free through new/delete and warning about a mismatch.
// The nothrow forms must not call the throwing ones through a replaceable path that could be
// counted twice, so they call the helpers directly.
[[gnu::noinline]] void* operator new(std::size_t n) {
  return strata::test::detail::counted_new(n);
}
[[gnu::noinline]] void* operator new[](std::size_t n) {
  return strata::test::detail::counted_new(n);
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a) {
  return strata::test::detail::counted_new(n, a);
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a) {
  return strata::test::detail::counted_new(n, a);
}
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return strata::test::detail::counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return strata::test::detail::counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a,
                                     const std::nothrow_t&) noexcept {
  try {
    return strata::test::detail::counted_new(n, a);
  } catch (...) {
    return nullptr;
  }
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a,
                                       const std::nothrow_t&) noexcept {
  try {
    return strata::test::detail::counted_new(n, a);
  } catch (...) {
    return nullptr;
  }
}

[[gnu::noinline]] void operator delete(void* p) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete[](void* p) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  strata::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t,
                                         const std::nothrow_t&) noexcept {
  strata::test::detail::raw_free(p);
}

#if STRATA_TEST_COUNT_MALLOC
// Interposes the C allocators for the whole process (shared libraries included). valloc and
// pvalloc are left to glibc: nothing strata uses calls them, and they are obsolete.
extern "C" {
[[gnu::noinline]] void* malloc(std::size_t size) noexcept {
  strata::test::malloc_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}
[[gnu::noinline]] void* calloc(std::size_t count, std::size_t size) noexcept {
  strata::test::malloc_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, size);
}
[[gnu::noinline]] void* realloc(void* p, std::size_t size) noexcept {
  strata::test::malloc_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, size);
}
[[gnu::noinline]] void free(void* p) noexcept {
  __libc_free(p);
}
[[gnu::noinline]] void* memalign(std::size_t alignment, std::size_t size) noexcept {
  strata::test::malloc_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
[[gnu::noinline]] void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  strata::test::malloc_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
[[gnu::noinline]] int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  // glibc's own rule: a power of two that is a multiple of sizeof(void*).
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0)
    return EINVAL;
  strata::test::malloc_calls.fetch_add(1, std::memory_order_relaxed);
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}
#endif

#endif  // !STRATA_TEST_ALLOCATION_COUNTER_ELSEWHERE
