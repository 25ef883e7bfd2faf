// Matrix products for the CUDA backend, on cuBLAS.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <stdexcept>
#include <string>

#include "strata/backend/cuda/memory.cuh"
#include "strata/backend/geometry.hpp"

namespace strata::backend::cuda {

inline void check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) +
                             ": " + cublasGetStatusName(status) + " (" +
                             cublasGetStatusString(status) + ")");
}

// A cuBLAS handle bound to one stream. Creating a handle allocates, so a model creates one and
// keeps it.
class Blas {
 public:
  explicit Blas(cudaStream_t stream) {
    STRATA_CUDA_CHECK(cublasCreate(&handle_));
    STRATA_CUDA_CHECK(cublasSetStream(handle_, stream));
    allow_tf32(false);
  }
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;
  ~Blas() { cublasDestroy(handle_); }

  // TF32 tensor-core products (10-bit mantissa inputs, float accumulation): several times
  // faster on Ampere and later, at about 1e-3 relative error. Off unless asked for, so that
  // results match the CPU backend to float tolerance.
  void allow_tf32(bool on) {
    STRATA_CUDA_CHECK(
        cublasSetMathMode(handle_, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  }

  cublasHandle_t get() const { return handle_; }
  cudaStream_t stream() const {
    cudaStream_t stream = nullptr;
    STRATA_CUDA_CHECK(cublasGetStream(handle_, &stream));
    return stream;
  }

 private:
  cublasHandle_t handle_ = nullptr;
};

namespace detail {

inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                                int n, int k, const float* alpha, const float* a, int lda,
                                const float* b, int ldb, const float* beta, float* c, int ldc) {
  return cublasSgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                                int n, int k, const double* alpha, const double* a, int lda,
                                const double* b, int ldb, const double* beta, double* c, int ldc) {
  return cublasDgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

inline cublasOperation_t to_cublas(Op op) {
  return op == Op::none ? CUBLAS_OP_N : CUBLAS_OP_T;
}

}  // namespace detail

// C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, all row-major with leading
// dimensions lda, ldb, ldc: the CPU backend's gemm, on device pointers.
//
// cuBLAS is column-major. A row-major matrix X with leading dimension ld is, read column-major
// with the same ld, X^T. So the row-major C = op(A) op(B) is the column-major
// C^T = op(B)^T op(A)^T: cuBLAS computes it when given B before A and n before m, with each
// operand's op unchanged (B's storage read column-major already is B^T, so op(B)^T needs op
// applied to that), and it writes C^T column-major, which is C row-major. No data moves.
template <class T>
void gemm(const Blas& blas, Op op_a, Op op_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  // With k == 0 BLAS scales C by beta, which is what the CPU backend does too.
  STRATA_CUDA_CHECK(detail::gemm_call(blas.get(), detail::to_cublas(op_b), detail::to_cublas(op_a),
                                      static_cast<int>(n), static_cast<int>(m), static_cast<int>(k),
                                      &alpha, b, static_cast<int>(ldb), a, static_cast<int>(lda),
                                      &beta, c, static_cast<int>(ldc)));
}

}  // namespace strata::backend::cuda
