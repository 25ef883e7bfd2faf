// Where the CUDA backend runs: memory, the execution context, Thrust's execution policy and the
// matrix-product seam. The backend's device work is Thrust algorithms over host-and-device
// functors, so the same sources build two ways:
//   - with nvcc: on the GPU, on one stream, products through cuBLAS;
//   - with g++ and -DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP (headers from the CUDA
//     toolkit's include/cccl): "host-run", Thrust's OpenMP system on the CPU, products through
//     a host stand-in. CI builds this variant, so the backend's logic is tested without a GPU.
#pragma once

#include <thrust/copy.h>
#include <thrust/execution_policy.h>
#include <thrust/fill.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include <cstddef>
#include <memory>

#include "strata/backend/formulas.hpp"
#include "strata/backend/geometry.hpp"

#if defined(__CUDACC__) && THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
#define STRATA_CUDA_ON_DEVICE 1
#include "strata/backend/cuda/gemm.cuh"
#include "strata/backend/cuda/memory.cuh"
#elif THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_OMP
#define STRATA_CUDA_ON_DEVICE 0
#include "strata/backend/cpu/gemm.hpp"
#include "strata/backend/cpu/memory.hpp"
#else
#error \
    "strata's CUDA backend builds with nvcc, or host-run with -DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP"
#endif

namespace strata::backend::cuda {

#if STRATA_CUDA_ON_DEVICE

// One stream and one cuBLAS handle per process, created on first use: creating a handle
// allocates, and a model asks for its context on every forward.
struct Device {
  Stream stream;
  Blas blas{stream.get()};
  static Device& get() {
    static Device device;
    return device;
  }
};

struct Exec {
  cudaStream_t stream = nullptr;
  const Blas* blas = nullptr;
};
inline Exec make_exec() {
  Device& d = Device::get();
  return {d.stream.get(), &d.blas};
}
inline auto policy(const Exec& e) {
  return thrust::cuda::par_nosync.on(e.stream);
}

// Lets cuBLAS use TF32 tensor cores for float products (gemm.cuh says what it costs); off by
// default. Affects every model on this process's device.
inline void set_tf32(bool on) {
  Device::get().blas.allow_tf32(on);
}

template <class T>
using Buffer = DeviceBuffer<T>;

template <class T>
void upload(const Exec& e, std::size_t count, const T* host, T* device) {
  copy_to_device(e.stream, host, device, count);
}
// Waits for the copy: the caller reads host right after.
template <class T>
void download(const Exec& e, std::size_t count, const T* device, T* host) {
  copy_to_host(e.stream, device, host, count);
  STRATA_CUDA_CHECK(cudaStreamSynchronize(e.stream));
}

template <class T>
void gemm(const Exec& e, Op op_a, Op op_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  cuda::gemm<T>(*e.blas, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#else  // host-run

struct Exec {};
inline Exec make_exec() {
  return {};
}
inline auto policy(const Exec&) {
  return thrust::device;
}

// No tensor cores on the host: products stay in float whatever is asked.
inline void set_tf32(bool) {}

// Thrust's OpenMP system addresses host memory.
template <class T>
using Buffer = backend::cpu::AlignedBuffer<T>;

template <class T>
void upload(const Exec&, std::size_t count, const T* host, T* device) {
  thrust::copy_n(host, count, device);
}
template <class T>
void download(const Exec&, std::size_t count, const T* device, T* host) {
  thrust::copy_n(device, count, host);
}

// The stand-in for cuBLAS: the same row-major contract, one thread.
template <class T>
void gemm(const Exec&, Op op_a, Op op_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  backend::cpu::gemm<T>(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#endif

// Runs f(i) for every i in [0, count) on the device.
template <class F>
void for_each_index(const Exec& e, std::size_t count, const F& f) {
  if (count == 0) return;
  thrust::for_each_n(policy(e), thrust::counting_iterator<std::size_t>(0), count, f);
}

}  // namespace strata::backend::cuda
