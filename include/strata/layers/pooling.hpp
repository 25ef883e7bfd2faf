// Pooling layers, with PyTorch's output-size rules.
//   MaxPool2d<Kernel, Options...>, AvgPool2d<Kernel, Options...>
//     Kernel: 2 (square) or Kernel{h, w}; Options: Stride<> (default: the kernel), Pad<>, CeilMode
//   GlobalAvgPool: [C, H, W] -> [C, 1, 1], as nn.AdaptiveAvgPool2d(1)
//   AdaptiveAvgPool2d<OutH, OutW = OutH>: as nn.AdaptiveAvgPool2d((OutH, OutW))
#pragma once

#include <string>
#include <string_view>

#include "strata/backend/geometry.hpp"
#include "strata/core/layer.hpp"
#include "strata/core/options.hpp"

namespace strata {

namespace detail {

template <class Derived, auto KernelSize, class... Options>
struct pool_spec : layer_spec {
  static_assert(((detail::is_known_option<Options> && !std::is_same_v<Options, NoBias> &&
                  !detail::find_pair<Dilation, Options>::found &&
                  detail::find_groups<Options>::value == 1) &&
                 ...),
                "pooling: unknown option; use Stride<>, Pad<> or CeilMode");
  static constexpr Kernel kernel = as_kernel(KernelSize);
  static constexpr Pair stride = find_pair<Stride, Options...>::found
                                     ? find_pair<Stride, Options...>::value
                                     : Pair{kernel.h, kernel.w};
  static constexpr Pair padding = pair_or<0, Pad, Options...>();
  static constexpr bool ceil_mode = has_option<CeilMode, Options...>;
  static_assert(kernel.h > 0 && kernel.w > 0 && stride.h > 0 && stride.w > 0,
                "pooling: kernel and stride must be positive");
  static_assert(2 * padding.h <= kernel.h && 2 * padding.w <= kernel.w,
                "pooling: padding must be at most half the kernel (PyTorch's rule)");

  template <class In>
  struct geometry_of {
    static_assert(ImageShape<In>, "pooling: input must be an image Shape<C, H, W>");
    static constexpr std::size_t c = ImageShape<In> ? In::dims[0] : 1;
    static constexpr std::size_t h = ImageShape<In> ? In::dims[1] : kernel.h;
    static constexpr std::size_t w = ImageShape<In> ? In::dims[2] : kernel.w;
    static constexpr bool fits = h + 2 * padding.h >= kernel.h && w + 2 * padding.w >= kernel.w;
    static_assert(fits, "pooling: the window is larger than the padded input");
    static constexpr backend::PoolGeometry value{
        c,        fits ? h : kernel.h, fits ? w : kernel.w, kernel.h, kernel.w, stride.h,
        stride.w, padding.h,           padding.w,           ceil_mode};
  };

  static std::string describe_pool(std::string_view name) {
    std::string text = std::string(name) + "(" + std::to_string(kernel.h) + "x" +
                       std::to_string(kernel.w) + ", stride " + std::to_string(stride.h);
    if (padding.h != 0 || padding.w != 0) text += ", pad " + std::to_string(padding.h);
    if (ceil_mode) text += ", ceil";
    return text + ")";
  }
};

}  // namespace detail

namespace detail {

// How a pooling window is reduced: the kernel family, the state a training forward keeps per
// sample for the backward, and the calls into the backend.
struct max_window {
  static constexpr std::string_view name = "MaxPool2d";
  using needs = kernel_ops<op::max_pool>;
  template <backend::PoolGeometry G>
  static constexpr std::size_t saved_per_sample = backend::max_pool_saved_per_sample<G>();
  template <backend::PoolGeometry G, class B, class T>
  static void forward(const exec_t<B>& exec, std::size_t batch, const T* x, T* y, T* saved) {
    kernels<B>::template max_pool_forward<G>(exec, batch, x, y, saved);
  }
  template <backend::PoolGeometry G, class B, class T>
  static void backward(const exec_t<B>& exec, std::size_t batch, const T* x, const T* saved,
                       const T* dy, T* dx) {
    kernels<B>::template max_pool_backward<G>(exec, batch, x, saved, dy, dx);
  }
};

struct average_window {
  static constexpr std::string_view name = "AvgPool2d";
  using needs = kernel_ops<op::avg_pool>;
  template <backend::PoolGeometry G>
  static constexpr std::size_t saved_per_sample = 0;
  template <backend::PoolGeometry G, class B, class T>
  static void forward(const exec_t<B>& exec, std::size_t batch, const T* x, T* y, T*) {
    kernels<B>::template avg_pool_forward<G>(exec, batch, x, y);
  }
  template <backend::PoolGeometry G, class B, class T>
  static void backward(const exec_t<B>& exec, std::size_t batch, const T*, const T*, const T* dy,
                       T* dx) {
    kernels<B>::template avg_pool_backward<G>(exec, batch, dy, dx);
  }
};

// The bound layer of a pooling spec, its window reduced as Window says.
template <class Spec, class In, class Window>
struct bound_pool : stateless_layer {
  static constexpr backend::PoolGeometry geometry = Spec::template geometry_of<In>::value;
  using input_shape = In;
  using output_shape =
      image_layer_output<In, Shape<geometry.channels, geometry.out_height(), geometry.out_width()>>;
  using needs = typename Window::needs;
  static constexpr std::size_t saved_per_sample = Window::template saved_per_sample<geometry>;
  static std::string describe() { return Spec::describe_pool(Window::name); }

  template <class T, class B>
  static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
    Window::template forward<geometry, B>(ctx.exec, ctx.batch, x, y,
                                          ctx.training ? ctx.saved : nullptr);
  }
  template <class T, class B>
  static void backward(const Ctx<T, B>& ctx, const T* x, const T*, const T* dy, T* dx) {
    if (dx)
      Window::template backward<geometry, B>(ctx.exec, ctx.batch, x,
                                             ctx.training ? ctx.saved : nullptr, dy, dx);
  }
};

}  // namespace detail

template <auto KernelSize, class... Options>
struct MaxPool2d : detail::pool_spec<MaxPool2d<KernelSize, Options...>, KernelSize, Options...> {
  template <class In>
  using bind = detail::bound_pool<MaxPool2d, In, detail::max_window>;
};

template <auto KernelSize, class... Options>
struct AvgPool2d : detail::pool_spec<AvgPool2d<KernelSize, Options...>, KernelSize, Options...> {
  template <class In>
  using bind = detail::bound_pool<AvgPool2d, In, detail::average_window>;
};

struct GlobalAvgPool : layer_spec {
  template <class In>
  struct geometry_of {
    static_assert(ImageShape<In>, "GlobalAvgPool: input must be an image Shape<C, H, W>");
    static constexpr std::size_t c = ImageShape<In> ? In::dims[0] : 1;
    static constexpr std::size_t h = ImageShape<In> ? In::dims[1] : 1;
    static constexpr std::size_t w = ImageShape<In> ? In::dims[2] : 1;
    // A window covering the whole plane is exactly the adaptive average to size 1.
    static constexpr backend::PoolGeometry value{c, h, w, h, w, 1, 1, 0, 0, false};
  };
  static std::string describe_pool(std::string_view) { return "GlobalAvgPool"; }

  template <class In>
  using bind = detail::bound_pool<GlobalAvgPool, In, detail::average_window>;
};

// AdaptiveAvgPool2d<OutH, OutW = OutH>: [C, H, W] -> [C, OutH, OutW], as
// nn.AdaptiveAvgPool2d((OutH, OutW)); any input size, larger or smaller than the output.
template <std::size_t OutH, std::size_t OutW = OutH>
struct AdaptiveAvgPool2d : layer_spec {
  static_assert(OutH > 0 && OutW > 0, "AdaptiveAvgPool2d: the output size must be positive");

  template <class In>
  struct bind : stateless_layer {
    static_assert(ImageShape<In>, "AdaptiveAvgPool2d: input must be an image Shape<C, H, W>");
    static constexpr backend::AdaptivePoolGeometry geometry{
        ImageShape<In> ? In::dims[0] : 1, ImageShape<In> ? In::dims[1] : 1,
        ImageShape<In> ? In::dims[2] : 1, OutH, OutW};
    using input_shape = In;
    using output_shape = image_layer_output<In, Shape<geometry.channels, OutH, OutW>>;
    using needs = kernel_ops<op::adaptive_avg_pool>;
    static std::string describe() {
      return "AdaptiveAvgPool2d(" + std::to_string(OutH) + "x" + std::to_string(OutW) + ")";
    }

    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      kernels<B>::template adaptive_avg_pool_forward<geometry>(ctx.exec, ctx.batch, x, y);
    }
    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T*, const T*, const T* dy, T* dx) {
      if (dx)
        kernels<B>::template adaptive_avg_pool_backward<geometry>(ctx.exec, ctx.batch, dy, dx);
    }
  };
};

}  // namespace strata
