// Element-wise kernels for the CPU backend, on Eigen arrays (vectorised whatever the
// optimisation level), split into contiguous chunks over threads.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>

#include "strata/backend/cpu/parallel.hpp"

namespace strata::backend::cpu {

template <class T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Runs body(begin, end) over [0, count) in one contiguous chunk per thread; small ranges stay
// on the calling thread, where a thread team would cost more than it saves.
template <class Body>
void parallel_chunks(std::size_t threads, std::size_t count, Body&& body) {
  constexpr std::size_t min_chunk = 32768;
  const std::size_t chunks = std::max<std::size_t>(1, std::min(threads, count / min_chunk));
  const std::size_t step = (count + chunks - 1) / chunks;
  parallel_for(chunks, chunks, [&](std::size_t c, std::size_t) {
    const std::size_t begin = std::min(count, c * step);
    const std::size_t end = std::min(count, begin + step);
    if (begin < end) body(begin, static_cast<Eigen::Index>(end - begin));
  });
}

template <class T>
void relu_forward(std::size_t threads, std::size_t count, const T* x, T* y) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    ArrayMap<T>(y + at, n) = ConstArrayMap<T>(x + at, n).max(T(0));
  });
}

// PyTorch's threshold_backward: the gradient passes where the output is positive.
template <class T>
void relu_backward(std::size_t threads, std::size_t count, const T* y, const T* dy, T* dx) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    ArrayMap<T>(dx + at, n) =
        (ConstArrayMap<T>(y + at, n) > T(0)).select(ConstArrayMap<T>(dy + at, n), T(0));
  });
}

template <class T>
void multiply(std::size_t threads, std::size_t count, const T* a, const T* b, T* out) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    ArrayMap<T>(out + at, n) = ConstArrayMap<T>(a + at, n) * ConstArrayMap<T>(b + at, n);
  });
}

template <class T>
void add(std::size_t threads, std::size_t count, const T* a, const T* b, T* out) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    ArrayMap<T>(out + at, n) = ConstArrayMap<T>(a + at, n) + ConstArrayMap<T>(b + at, n);
  });
}

template <class T>
void copy(std::size_t threads, std::size_t count, const T* from, T* to) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    std::copy(from + at, from + at + n, to + at);
  });
}

}  // namespace strata::backend::cpu
