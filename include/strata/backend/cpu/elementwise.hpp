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

// PyTorch's order of operations: relu6(x + 3) / 6, and x * relu6(x + 3) / 6.
template <class T>
void hardsigmoid_forward(std::size_t threads, std::size_t count, const T* x, T* y) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    ArrayMap<T>(y + at, n) = (ConstArrayMap<T>(x + at, n) + T(3)).max(T(0)).min(T(6)) / T(6);
  });
}

// dy times PyTorch's one sixth (the float 1.0f / 6.0f, see activation_rule) strictly inside
// (-3, 3), where y does not tell x's side of the ends.
template <class T>
void hardsigmoid_backward(std::size_t threads, std::size_t count, const T* x, const T* dy, T* dx) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    const auto in = ConstArrayMap<T>(x + at, n);
    ArrayMap<T>(dx + at, n) =
        (in > T(-3) && in < T(3)).select(ConstArrayMap<T>(dy + at, n) * T(1.0f / 6.0f), T(0));
  });
}

template <class T>
void hardswish_forward(std::size_t threads, std::size_t count, const T* x, T* y) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    const auto in = ConstArrayMap<T>(x + at, n);
    ArrayMap<T>(y + at, n) = in * (in + T(3)).max(T(0)).min(T(6)) / T(6);
  });
}

// 0 below -3, x / 3 + 1/2 up to 3 inclusive, 1 above: needs x, since y is not monotonic.
template <class T>
void hardswish_backward(std::size_t threads, std::size_t count, const T* x, const T* dy, T* dx) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    const auto in = ConstArrayMap<T>(x + at, n);
    const auto grad = ConstArrayMap<T>(dy + at, n);
    ArrayMap<T>(dx + at, n) =
        (in < T(-3)).select(T(0), (in <= T(3)).select(grad * (in / T(3) + T(0.5)), grad));
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

template <class T>
void fill(std::size_t threads, std::size_t count, T value, T* to) {
  parallel_chunks(threads, count, [&](std::size_t at, Eigen::Index n) {
    ArrayMap<T>(to + at, n).setConstant(value);
  });
}

// Spreads `planes` independent planes of `plane` elements over threads, unless there is too
// little work for a thread team to pay off.
template <class Body>
void parallel_planes(std::size_t threads, std::size_t planes, std::size_t plane, Body&& body) {
  constexpr std::size_t min_elements = 32768;
  parallel_for(planes * plane < min_elements ? 1 : threads, planes,
               [&](std::size_t p, std::size_t) { body(p); });
}

// y[p, :] = x[p, :] * factors[p] (+ addend[p, :] where addend is given): squeeze-excitation's
// channel scaling, stochastic depth's row scaling.
template <class T>
void scale_planes(std::size_t threads, std::size_t planes, std::size_t plane, const T* x,
                  const T* factors, const T* addend, T* y) {
  const auto n = static_cast<Eigen::Index>(plane);
  parallel_planes(threads, planes, plane, [&](std::size_t p) {
    auto out = ArrayMap<T>(y + p * plane, n);  // [plane]
    if (addend)
      out =
          ConstArrayMap<T>(x + p * plane, n) * factors[p] + ConstArrayMap<T>(addend + p * plane, n);
    else
      out = ConstArrayMap<T>(x + p * plane, n) * factors[p];
  });
}

// out[p] = sum over the plane of a[p, :] * b[p, :].
template <class T>
void plane_dots(std::size_t threads, std::size_t planes, std::size_t plane, const T* a, const T* b,
                T* out) {
  const auto n = static_cast<Eigen::Index>(plane);
  parallel_planes(threads, planes, plane, [&](std::size_t p) {
    out[p] = (ConstArrayMap<T>(a + p * plane, n) * ConstArrayMap<T>(b + p * plane, n)).sum();
  });
}

// Copies `blocks` runs of `width` elements, block i from from + i * from_stride to
// to + i * to_stride (a concatenation's slices).
template <class T>
void copy_blocks(std::size_t threads, std::size_t blocks, std::size_t width, const T* from,
                 std::size_t from_stride, T* to, std::size_t to_stride) {
  parallel_planes(threads, blocks, width, [&](std::size_t i) {
    std::copy_n(from + i * from_stride, width, to + i * to_stride);
  });
}

// Each of `planes` planes placed inside a zeroed plane of the padded size (ZeroPad2d).
template <PadGeometry G, class T>
void zero_pad_forward(std::size_t threads, std::size_t planes, const T* x, T* y) {
  parallel_planes(threads, planes, G.out_pixels(), [&](std::size_t p) {
    const T* in = x + p * G.in_pixels();
    T* out = y + p * G.out_pixels();
    std::fill_n(out, G.top * G.out_width(), T(0));
    for (std::size_t h = 0; h < G.height; ++h) {
      T* row = out + (G.top + h) * G.out_width();
      std::fill_n(row, G.left, T(0));
      std::copy_n(in + h * G.width, G.width, row + G.left);
      std::fill_n(row + G.left + G.width, G.right, T(0));
    }
    std::fill_n(out + (G.top + G.height) * G.out_width(), G.bottom * G.out_width(), T(0));
  });
}

// Its gradient: the interior of each padded plane.
template <PadGeometry G, class T>
void zero_pad_backward(std::size_t threads, std::size_t planes, const T* dy, T* dx) {
  parallel_planes(threads, planes, G.in_pixels(), [&](std::size_t p) {
    const T* out = dy + p * G.out_pixels() + G.top * G.out_width() + G.left;
    for (std::size_t h = 0; h < G.height; ++h)
      std::copy_n(out + h * G.out_width(), G.width, dx + p * G.in_pixels() + h * G.width);
  });
}

// y[r, :] += bias, for each of `rows` rows of `columns`.
template <class T>
void add_row_bias(std::size_t threads, std::size_t rows, std::size_t columns, const T* bias, T* y) {
  const auto n = static_cast<Eigen::Index>(columns);
  parallel_planes(threads, rows, columns, [&](std::size_t r) {
    ArrayMap<T>(y + r * columns, n) += ConstArrayMap<T>(bias, n);
  });
}

// out[c] = sum over the rows of x[r, c] (a bias gradient), rows summed in order.
template <class T>
void sum_rows(std::size_t, std::size_t rows, std::size_t columns, const T* x, T* out) {
  std::fill_n(out, columns, T(0));
  ArrayMap<T> sums(out, static_cast<Eigen::Index>(columns));
  for (std::size_t r = 0; r < rows; ++r)
    sums += ConstArrayMap<T>(x + r * columns, static_cast<Eigen::Index>(columns));
}

}  // namespace strata::backend::cpu
