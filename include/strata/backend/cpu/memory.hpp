// Owned, 64-byte aligned storage that is allocated once and only grows.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <memory>

namespace strata::backend::cpu {

template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t count) { resize(count); }

  // Grows to at least count elements, zero-filled; contents are not preserved.
  void resize(std::size_t count) {
    if (count <= size_ && data_) return;
    data_.reset(static_cast<T*>(
        Eigen::internal::aligned_malloc(std::max<std::size_t>(1, count) * sizeof(T))));
    size_ = count;
    std::fill_n(data_.get(), size_, T(0));
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(T* p) const { Eigen::internal::aligned_free(p); }
  };
  std::unique_ptr<T, Free> data_;
  std::size_t size_ = 0;
};

}  // namespace strata::backend::cpu
