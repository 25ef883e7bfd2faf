// Activation kernels for the CUDA backend, as Thrust transforms on the given stream. Each
// backward takes what the CPU kernel of the same name takes (the output y, or the input x
// where y does not determine the derivative), with the same PyTorch conventions at the kinks.
#pragma once

#include <cuda_runtime.h>
#include <thrust/execution_policy.h>
#include <thrust/transform.h>

#include <cstddef>

namespace strata::backend::cuda {

namespace detail {

// par_nosync: the transforms return without waiting, like the kernels launched beside them;
// the caller synchronises the stream when it needs a result on the host.
template <class Unary, class T>
void map(cudaStream_t stream, std::size_t count, const T* x, T* y, Unary op) {
  thrust::transform(thrust::cuda::par_nosync.on(stream), x, x + count, y, op);
}

template <class Binary, class T>
void map(cudaStream_t stream, std::size_t count, const T* a, const T* b, T* out, Binary op) {
  thrust::transform(thrust::cuda::par_nosync.on(stream), a, a + count, b, out, op);
}

template <class T>
__host__ __device__ T sigmoid(T x) {
  // 1 / (1 + exp(-x)) overflows exp only towards +inf, where the quotient correctly tends to 0.
  return T(1) / (T(1) + exp(-x));
}

// Written so that a NaN passes through, as PyTorch's relu.
struct Relu {
  template <class T>
  __host__ __device__ T operator()(T x) const {
    return x < T(0) ? T(0) : x;
  }
};
// PyTorch's threshold_backward: the gradient passes where the output is positive.
struct ReluGrad {
  template <class T>
  __host__ __device__ T operator()(T y, T dy) const {
    return y > T(0) ? dy : T(0);
  }
};
struct Relu6 {
  template <class T>
  __host__ __device__ T operator()(T x) const {
    return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
  }
};
// PyTorch's hardtanh_backward: the gradient passes strictly inside (0, 6).
struct Relu6Grad {
  template <class T>
  __host__ __device__ T operator()(T y, T dy) const {
    return y > T(0) && y < T(6) ? dy : T(0);
  }
};
struct Sigmoid {
  template <class T>
  __host__ __device__ T operator()(T x) const {
    return sigmoid(x);
  }
};
struct SigmoidGrad {
  template <class T>
  __host__ __device__ T operator()(T y, T dy) const {
    return dy * y * (T(1) - y);
  }
};
struct Tanh {
  template <class T>
  __host__ __device__ T operator()(T x) const {
    return tanh(x);
  }
};
struct TanhGrad {
  template <class T>
  __host__ __device__ T operator()(T y, T dy) const {
    return dy * (T(1) - y * y);
  }
};
struct Silu {
  template <class T>
  __host__ __device__ T operator()(T x) const {
    return x * sigmoid(x);
  }
};
// d/dx x*s(x) = s(x) * (1 + x * (1 - s(x))), from x: y = x*s(x) cannot be inverted cheaply.
struct SiluGrad {
  template <class T>
  __host__ __device__ T operator()(T x, T dy) const {
    const T s = sigmoid(x);
    return dy * s * (T(1) + x * (T(1) - s));
  }
};

}  // namespace detail

template <class T>
void relu_forward(cudaStream_t stream, std::size_t count, const T* x, T* y) {
  detail::map(stream, count, x, y, detail::Relu{});
}
template <class T>
void relu_backward(cudaStream_t stream, std::size_t count, const T* y, const T* dy, T* dx) {
  detail::map(stream, count, y, dy, dx, detail::ReluGrad{});
}
template <class T>
void relu6_forward(cudaStream_t stream, std::size_t count, const T* x, T* y) {
  detail::map(stream, count, x, y, detail::Relu6{});
}
template <class T>
void relu6_backward(cudaStream_t stream, std::size_t count, const T* y, const T* dy, T* dx) {
  detail::map(stream, count, y, dy, dx, detail::Relu6Grad{});
}
template <class T>
void sigmoid_forward(cudaStream_t stream, std::size_t count, const T* x, T* y) {
  detail::map(stream, count, x, y, detail::Sigmoid{});
}
template <class T>
void sigmoid_backward(cudaStream_t stream, std::size_t count, const T* y, const T* dy, T* dx) {
  detail::map(stream, count, y, dy, dx, detail::SigmoidGrad{});
}
template <class T>
void tanh_forward(cudaStream_t stream, std::size_t count, const T* x, T* y) {
  detail::map(stream, count, x, y, detail::Tanh{});
}
template <class T>
void tanh_backward(cudaStream_t stream, std::size_t count, const T* y, const T* dy, T* dx) {
  detail::map(stream, count, y, dy, dx, detail::TanhGrad{});
}
template <class T>
void silu_forward(cudaStream_t stream, std::size_t count, const T* x, T* y) {
  detail::map(stream, count, x, y, detail::Silu{});
}
template <class T>
void silu_backward(cudaStream_t stream, std::size_t count, const T* x, const T* dy, T* dx) {
  detail::map(stream, count, x, dy, dx, detail::SiluGrad{});
}

}  // namespace strata::backend::cuda
