// Element-wise kernels for the CPU backend, split into contiguous chunks over threads.
#pragma once

#include <algorithm>
#include <cstddef>

#include "strata/backend/cpu/parallel.hpp"

namespace strata::backend::cpu {

// Runs body(begin, end) over [0, count) in one contiguous chunk per thread; small ranges stay
// on the calling thread, where a thread team would cost more than it saves.
template <class Body>
void parallel_chunks(std::size_t threads, std::size_t count, Body&& body) {
  constexpr std::size_t min_chunk = 16384;
  const std::size_t chunks = std::max<std::size_t>(1, std::min(threads, count / min_chunk));
  const std::size_t step = (count + chunks - 1) / chunks;
  parallel_for(chunks, chunks, [&](std::size_t c, std::size_t) {
    const std::size_t begin = std::min(count, c * step);
    body(begin, std::min(count, begin + step));
  });
}

template <class T>
void relu_forward(std::size_t threads, std::size_t count, const T* x, T* y) {
  parallel_chunks(threads, count, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
  });
}

// PyTorch's threshold_backward: the gradient passes where the output is positive.
template <class T>
void relu_backward(std::size_t threads, std::size_t count, const T* y, const T* dy, T* dx) {
  parallel_chunks(threads, count, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
  });
}

template <class T>
void multiply(std::size_t threads, std::size_t count, const T* a, const T* b, T* out) {
  parallel_chunks(threads, count, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) out[i] = a[i] * b[i];
  });
}

template <class T>
void copy(std::size_t threads, std::size_t count, const T* from, T* to) {
  parallel_chunks(threads, count, [&](std::size_t begin, std::size_t end) {
    std::copy(from + begin, from + end, to + begin);
  });
}

}  // namespace strata::backend::cpu
