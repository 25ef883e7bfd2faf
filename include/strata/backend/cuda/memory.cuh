// Device memory, pinned host memory and streams for the CUDA backend. Every buffer is
// allocated once by its owner (the model sizes them from the network type and the largest
// batch), so no CUDA call allocates during a training step.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace strata::backend::cuda {

// CUDA reports failures as return codes, and an asynchronous kernel's error surfaces at some
// later call; naming the call, file and line is what makes such a report traceable.
inline void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) +
                             ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) +
                             ")");
}

// Why this process cannot use a CUDA device: the runtime's error, or that none was found; ""
// when it can. What a GPU program says, and a GPU test reports as its skip reason, elsewhere.
inline std::string no_device_reason() {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess) return cudaGetErrorString(status);
  return devices == 0 ? "no CUDA device found" : "";
}

}  // namespace strata::backend::cuda

// A macro because only the call site knows its own text, file and line.
#define STRATA_CUDA_CHECK(call) ::strata::backend::cuda::check((call), #call, __FILE__, __LINE__)

namespace strata::backend::cuda {

// Owns count elements from Memory::allocate, returned by Memory::release; movable, not
// copyable.
template <class T, class Memory>
class OwnedBuffer {
 public:
  OwnedBuffer() = default;
  // count elements, zero-filled (as the CPU backend's AlignedBuffer).
  explicit OwnedBuffer(std::size_t count) : size_(count) {
    if (count == 0) return;
    STRATA_CUDA_CHECK(Memory::allocate(&data_, count * sizeof(T)));
    STRATA_CUDA_CHECK(Memory::zero(data_, count * sizeof(T)));
  }
  OwnedBuffer(OwnedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  OwnedBuffer& operator=(OwnedBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  // Freeing synchronises the device, and its error cannot be thrown from a destructor.
  ~OwnedBuffer() { Memory::release(data_); }

  // Grows to at least count elements, zero-filled; contents are not preserved.
  void resize(std::size_t count) {
    if (count <= size_ && data_) return;
    *this = OwnedBuffer(count);
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// cudaMalloc calls made by strata's buffers: the no-allocation test of a training step reads it.
inline std::atomic<std::size_t>& device_allocations() {
  static std::atomic<std::size_t> count{0};
  return count;
}

struct DeviceMemory {
  template <class T>
  static cudaError_t allocate(T** data, std::size_t bytes) {
    device_allocations().fetch_add(1, std::memory_order_relaxed);
    return cudaMalloc(data, bytes);
  }
  static cudaError_t zero(void* data, std::size_t bytes) { return cudaMemset(data, 0, bytes); }
  static void release(void* data) { cudaFree(data); }
};

// Page-locked host memory: the only kind from which cudaMemcpyAsync overlaps with kernels (a
// copy from pageable memory is staged and synchronous), so batches are loaded into it.
struct PinnedMemory {
  template <class T>
  static cudaError_t allocate(T** data, std::size_t bytes) {
    return cudaMallocHost(data, bytes);
  }
  static cudaError_t zero(void* data, std::size_t bytes) {
    std::memset(data, 0, bytes);
    return cudaSuccess;
  }
  static void release(void* data) { cudaFreeHost(data); }
};

template <class T>
using DeviceBuffer = OwnedBuffer<T, DeviceMemory>;
template <class T>
using PinnedBuffer = OwnedBuffer<T, PinnedMemory>;

// A non-blocking stream: work on it does not serialise with the legacy default stream, which
// CUDA graph capture also requires.
class Stream {
 public:
  Stream() { STRATA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { cudaStreamDestroy(stream_); }

  cudaStream_t get() const { return stream_; }
  void synchronize() const { STRATA_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

template <class T>
void copy_to_device(cudaStream_t stream, const T* host, T* device, std::size_t count) {
  STRATA_CUDA_CHECK(
      cudaMemcpyAsync(device, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
}

template <class T>
void copy_to_host(cudaStream_t stream, const T* device, T* host, std::size_t count) {
  STRATA_CUDA_CHECK(
      cudaMemcpyAsync(host, device, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
}

// A launch reports configuration errors only through cudaGetLastError.
inline void check_launch(const char* kernel, const char* file, int line) {
  check(cudaGetLastError(), kernel, file, line);
}

// Threads per block for the element-wise and per-output kernels, and the grid covering count
// (at least one block: a grid of zero blocks is a launch error, and kernels test their index).
inline constexpr unsigned block_threads = 256;
inline unsigned grid_for(std::size_t count) {
  return static_cast<unsigned>(count == 0 ? 1 : (count + block_threads - 1) / block_threads);
}

}  // namespace strata::backend::cuda

#define STRATA_CUDA_CHECK_LAUNCH(kernel) \
  ::strata::backend::cuda::check_launch(kernel, __FILE__, __LINE__)
