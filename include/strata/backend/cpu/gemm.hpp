// Matrix products for the CPU backend, on Eigen's GEMM kernel.
//
// Eigen's high-level product allocates its packing buffers on the heap whenever they exceed
// EIGEN_STACK_ALLOCATION_LIMIT, i.e. on every convolution-sized product. A training step must
// not allocate, so we call Eigen's GEMM driver directly with a blocking object whose packing
// buffers live in a per-thread workspace that only ever grows (during the first steps).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <memory>

#include "strata/backend/cpu/parallel.hpp"
#include "strata/backend/geometry.hpp"

#if !EIGEN_VERSION_AT_LEAST(3, 4, 0)
#error "strata needs Eigen 3.4 or newer (GEMM driver interface)"
#endif

namespace strata::backend::cpu {

using backend::Op;

namespace detail {

template <class T>
class PackingWorkspace {
 public:
  T* reserve(std::size_t count) {
    if (count > capacity_) {
      storage_.reset(static_cast<T*>(Eigen::internal::aligned_malloc(count * sizeof(T))));
      capacity_ = count;
    }
    return storage_.get();
  }

 private:
  struct Free {
    void operator()(T* p) const { Eigen::internal::aligned_free(p); }
  };
  std::unique_ptr<T, Free> storage_;
  std::size_t capacity_ = 0;
};

template <class T>
PackingWorkspace<T>& packing_workspace() {
  thread_local PackingWorkspace<T> workspace;
  return workspace;
}

// Eigen's cache-aware block sizes, with packing buffers from the thread's workspace.
template <class T>
class ReusedBlocking : public Eigen::internal::level3_blocking<T, T> {
 public:
  // Sizes as Eigen's own gemm_blocking_space computes them for a row-major result, which its
  // driver evaluates as the transposed column-major product (hence rows and cols swapped).
  ReusedBlocking(Eigen::Index rows, Eigen::Index cols, Eigen::Index depth) {
    this->m_mc = cols;
    this->m_nc = rows;
    this->m_kc = depth;
    Eigen::internal::computeProductBlockingSizes<T, T, 1>(this->m_kc, this->m_mc, this->m_nc,
                                                          Eigen::Index{1});
    constexpr std::size_t align = 64 / sizeof(T);
    const auto round_up = [](std::size_t n) { return (n + align - 1) / align * align; };
    const std::size_t size_a = round_up(static_cast<std::size_t>(this->m_kc * this->m_mc));
    const std::size_t size_b = round_up(static_cast<std::size_t>(this->m_kc * this->m_nc));
    T* base = packing_workspace<T>().reserve(size_a + size_b);
    this->m_blockA = base;
    this->m_blockB = base + size_a;
  }
};

template <class T, int LhsOrder, int RhsOrder>
void gemm_kernel(Eigen::Index m, Eigen::Index n, Eigen::Index k, T alpha, const T* a,
                 Eigen::Index lda, const T* b, Eigen::Index ldb, T* c, Eigen::Index ldc) {
  ReusedBlocking<T> blocking(m, n, k);
  Eigen::internal::general_matrix_matrix_product<Eigen::Index, T, LhsOrder, false, T, RhsOrder,
                                                 false, Eigen::RowMajor, 1>::run(m, n, k, a, lda, b,
                                                                                 ldb, c, 1, ldc,
                                                                                 alpha, blocking,
                                                                                 nullptr);
}

}  // namespace detail

// C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, all row-major with leading
// dimensions lda, ldb, ldc (as BLAS's sgemm on row-major storage). Single-threaded: callers
// parallelise over independent products (images, groups) or use gemm_parallel.
template <class T>
void gemm(Op op_a, Op op_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
          std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  if (beta == T(0)) {
    for (std::size_t i = 0; i < m; ++i) std::fill_n(c + i * ldc, n, T(0));
  } else if (beta != T(1)) {
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] *= beta;
  }
  if (k == 0) return;
  if (m == 1 && op_a == Op::none) {
    // One row (a Linear layer at batch 1): a matrix-vector product, which reads op(B) once,
    // where the GEMM driver would first copy all of it into its packing buffer. Eigen's
    // matrix-vector kernels keep their temporaries on the stack at these sizes.
    using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Stride = Eigen::OuterStride<>;
    const Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> row(a,
                                                                    static_cast<Eigen::Index>(k));
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> out(c, static_cast<Eigen::Index>(n));
    if (op_b == Op::transpose)  // B is [n x k]: out = B * row
      out.noalias() += alpha *
                       Eigen::Map<const RowMajorMatrix, 0, Stride>(
                           b, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(k),
                           Stride(static_cast<Eigen::Index>(ldb))) *
                       row;
    else  // B is [k x n]: out = B^T * row
      out.noalias() += alpha *
                       Eigen::Map<const RowMajorMatrix, 0, Stride>(
                           b, static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(n),
                           Stride(static_cast<Eigen::Index>(ldb)))
                           .transpose() *
                       row;
    return;
  }
  const auto M = static_cast<Eigen::Index>(m), N = static_cast<Eigen::Index>(n),
             K = static_cast<Eigen::Index>(k), LDA = static_cast<Eigen::Index>(lda),
             LDB = static_cast<Eigen::Index>(ldb), LDC = static_cast<Eigen::Index>(ldc);
  // op(A) stored row-major is a RowMajor matrix; A^T of a row-major A is ColMajor.
  if (op_a == Op::none && op_b == Op::none)
    detail::gemm_kernel<T, Eigen::RowMajor, Eigen::RowMajor>(M, N, K, alpha, a, LDA, b, LDB, c,
                                                             LDC);
  else if (op_a == Op::none)
    detail::gemm_kernel<T, Eigen::RowMajor, Eigen::ColMajor>(M, N, K, alpha, a, LDA, b, LDB, c,
                                                             LDC);
  else if (op_b == Op::none)
    detail::gemm_kernel<T, Eigen::ColMajor, Eigen::RowMajor>(M, N, K, alpha, a, LDA, b, LDB, c,
                                                             LDC);
  else
    detail::gemm_kernel<T, Eigen::ColMajor, Eigen::ColMajor>(M, N, K, alpha, a, LDA, b, LDB, c,
                                                             LDC);
}

// The same product split over threads by rows (or by columns when rows are few), for the
// large single products of Linear layers.
template <class T>
void gemm_parallel(std::size_t threads, Op op_a, Op op_b, std::size_t m, std::size_t n,
                   std::size_t k, T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb,
                   T beta, T* c, std::size_t ldc) {
  constexpr std::size_t min_work_per_thread = 64 * 64 * 64;
  if (threads <= 1 || m * n * k < 2 * min_work_per_thread) {
    gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const bool split_rows = m >= n;
  const std::size_t extent = split_rows ? m : n;
  const std::size_t chunk = (extent + threads - 1) / threads;
  parallel_for(threads, threads, [&](std::size_t t, std::size_t) {
    const std::size_t begin = std::min(extent, t * chunk), end = std::min(extent, begin + chunk);
    if (begin == end) return;
    if (split_rows) {
      const T* a_rows = op_a == Op::none ? a + begin * lda : a + begin;
      gemm(op_a, op_b, end - begin, n, k, alpha, a_rows, lda, b, ldb, beta, c + begin * ldc, ldc);
    } else {
      const T* b_cols = op_b == Op::none ? b + begin : b + begin * ldb;
      gemm(op_a, op_b, m, end - begin, k, alpha, a, lda, b_cols, ldb, beta, c + begin, ldc);
    }
  });
}

}  // namespace strata::backend::cpu
