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

// PyTorch's hardtanh_backward: the gradient passes strictly inside (0, 6); comparing y is the
// same test as comparing x, since y equals x there.
template <class T>
void relu6_forward(std::size_t threads, std::size_t count, const T* x, T* y) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    ArrayMap<T>(y + at, n) = ConstArrayMap<T>(x + at, n).max(T(0)).min(T(6));
  });
}

template <class T>
void relu6_backward(std::size_t threads, std::size_t count, const T* y, const T* dy, T* dx) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    const auto out = ConstArrayMap<T>(y + at, n);
    ArrayMap<T>(dx + at, n) = (out > T(0) && out < T(6)).select(ConstArrayMap<T>(dy + at, n), T(0));
  });
}

// 1 / (1 + exp(-x)) overflows exp only towards +inf, where the quotient correctly tends to 0.
template <class T>
void sigmoid_forward(std::size_t threads, std::size_t count, const T* x, T* y) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    ArrayMap<T>(y + at, n) = T(1) / (T(1) + (-ConstArrayMap<T>(x + at, n)).exp());
  });
}

template <class T>
void sigmoid_backward(std::size_t threads, std::size_t count, const T* y, const T* dy, T* dx) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    const auto out = ConstArrayMap<T>(y + at, n);
    ArrayMap<T>(dx + at, n) = ConstArrayMap<T>(dy + at, n) * out * (T(1) - out);
  });
}

template <class T>
void tanh_forward(std::size_t threads, std::size_t count, const T* x, T* y) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    ArrayMap<T>(y + at, n) = ConstArrayMap<T>(x + at, n).tanh();
  });
}

template <class T>
void tanh_backward(std::size_t threads, std::size_t count, const T* y, const T* dy, T* dx) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    const auto out = ConstArrayMap<T>(y + at, n);
    ArrayMap<T>(dx + at, n) = ConstArrayMap<T>(dy + at, n) * (T(1) - out.square());
  });
}

template <class T>
void silu_forward(std::size_t threads, std::size_t count, const T* x, T* y) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    const auto in = ConstArrayMap<T>(x + at, n);
    ArrayMap<T>(y + at, n) = in / (T(1) + (-in).exp());
  });
}

// d/dx x*s(x) = s(x) * (1 + x * (1 - s(x))): needs x, since y = x*s(x) cannot be inverted
// cheaply; s is recomputed rather than saved.
template <class T>
void silu_backward(std::size_t threads, std::size_t count, const T* x, const T* dy, T* dx) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    const auto in = ConstArrayMap<T>(x + at, n);
    const auto s = T(1) / (T(1) + (-in).exp());
    ArrayMap<T>(dx + at, n) = ConstArrayMap<T>(dy + at, n) * s * (T(1) + in * (T(1) - s));
  });
}

// Softmax over each row of `features` elements; the row's maximum is subtracted first so that
// exp cannot overflow.
template <class T>
void softmax_forward(std::size_t threads, std::size_t rows, std::size_t features, const T* x,
                     T* y) {
  const auto n = static_cast<Eigen::Index>(features);
  parallel_for(threads, rows, [&](std::size_t r, std::size_t) {
    const auto in = ConstArrayMap<T>(x + r * features, n);
    auto out = ArrayMap<T>(y + r * features, n);
    out = (in - in.maxCoeff()).exp();
    out /= out.sum();
  });
}

// dx = y * (dy - sum(dy * y)), row by row.
template <class T>
void softmax_backward(std::size_t threads, std::size_t rows, std::size_t features, const T* y,
                      const T* dy, T* dx) {
  const auto n = static_cast<Eigen::Index>(features);
  parallel_for(threads, rows, [&](std::size_t r, std::size_t) {
    const auto out = ConstArrayMap<T>(y + r * features, n);
    const auto grad = ConstArrayMap<T>(dy + r * features, n);
    ArrayMap<T>(dx + r * features, n) = out * (grad - (grad * out).sum());
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
