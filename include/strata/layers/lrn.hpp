// LocalResponseNorm<Size, Alpha, Beta, K>: PyTorch's nn.LocalResponseNorm across channels,
//   y_c = x_c / (K + Alpha/Size * sum_{c' in window(c)} x_c'^2)^Beta,
// the window being Size channels centred on c (Size/2 before, (Size-1)/2 after, clipped to the
// channels; the sum is still divided by Size, as PyTorch's count_include_pad average).
// Alpha, Beta and K are std::ratio types, since clang 14 has no floating-point template
// arguments; the defaults are AlexNet's, so LocalResponseNorm<5> is
// nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2), and the full form reads
//   LocalResponseNorm<5, std::ratio<1, 10000>, std::ratio<3, 4>, std::ratio<2>>.
#pragma once

#include <ratio>
#include <string>

#include "strata/backend/geometry.hpp"
#include "strata/core/layer.hpp"

namespace strata {

namespace detail {
template <class R>
inline constexpr bool is_ratio_v = false;
template <std::intmax_t N, std::intmax_t D>
inline constexpr bool is_ratio_v<std::ratio<N, D>> = true;
}  // namespace detail

template <std::size_t Size, class Alpha = std::ratio<1, 10000>, class Beta = std::ratio<3, 4>,
          class K = std::ratio<2>>
struct LocalResponseNorm : layer_spec {
  static_assert(Size > 0, "LocalResponseNorm: the window size must be positive");
  static_assert(detail::is_ratio_v<Alpha> && detail::is_ratio_v<Beta> && detail::is_ratio_v<K>,
                "LocalResponseNorm: Alpha, Beta and K must be std::ratio<Num, Den>");
  static constexpr backend::LrnConstants constants{Size, double(Alpha::num) / double(Alpha::den),
                                                   double(Beta::num) / double(Beta::den),
                                                   double(K::num) / double(K::den)};

  template <class In>
  struct bind : stateless_layer {
    static_assert(ImageShape<In>, "LocalResponseNorm: input must be an image Shape<C, H, W>");
    static constexpr backend::NormGeometry geometry{In::dims[0],
                                                    ImageShape<In> ? In::dims[1] * In::dims[2] : 1};
    using input_shape = In;
    using needs = kernel_ops<op::lrn>;
    using output_shape = In;
    // The denominator base d per element: backward needs it for every channel it touches.
    static constexpr std::size_t saved_per_sample = In::size;

    static std::string describe() {
      return "LocalResponseNorm(" + std::to_string(Size) + ", alpha " +
             std::to_string(constants.alpha) + ", beta " + std::to_string(constants.beta) + ", k " +
             std::to_string(constants.k) + ")";
    }

    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      kernels<B>::template lrn_forward<geometry>(ctx.exec, ctx.batch, constants, x, y, ctx.saved);
    }
    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T* x, const T* y, const T* dy, T* dx) {
      if (dx)
        kernels<B>::template lrn_backward<geometry>(ctx.exec, ctx.batch, constants, x, y, dy,
                                                    static_cast<const T*>(ctx.saved), dx);
    }
  };
};

}  // namespace strata
