// Conv2d<OutChannels, Kernel, Options...>: PyTorch's nn.Conv2d with in_channels inferred.
//   Kernel:  3 (square) or Kernel{1, 7}
//   Options: Stride<s> / Stride<sh, sw>, Pad<p> / Pad<ph, pw>, Dilation<d>, Groups<g>, NoBias
// Parameters: weight [Out, In/groups, Kh, Kw], bias [Out]; PyTorch's default initialisation.
#pragma once

#include <cmath>
#include <string>

#include "strata/backend/geometry.hpp"
#include "strata/core/layer.hpp"
#include "strata/core/options.hpp"

namespace strata {

template <std::size_t OutChannels, auto KernelSize, class... Options>
struct Conv2d : layer_spec {
  static_assert((detail::is_known_option<Options> && ...),
                "Conv2d: unknown option; use Stride<>, Pad<>, Dilation<>, Groups<> or NoBias");
  static_assert(OutChannels > 0, "Conv2d: the number of output channels must be positive");

  static constexpr Kernel kernel = detail::as_kernel(KernelSize);
  static constexpr detail::Pair stride = detail::pair_or<1, Stride, Options...>();
  static constexpr detail::Pair padding = detail::pair_or<0, Pad, Options...>();
  static constexpr detail::Pair dilation = detail::pair_or<1, Dilation, Options...>();
  static constexpr std::size_t groups = detail::find_groups<Options...>::value;
  static constexpr bool has_bias = !detail::has_option<NoBias, Options...>;
  static_assert(kernel.h > 0 && kernel.w > 0 && stride.h > 0 && stride.w > 0 && dilation.h > 0 &&
                    dilation.w > 0 && groups > 0,
                "Conv2d: kernel, stride, dilation and groups must be positive");
  static_assert(OutChannels % groups == 0, "Conv2d: groups must divide the output channels");

  template <class In>
  struct bind {
    static_assert(ImageShape<In>,
                  "Conv2d: input must be an image Shape<C, H, W>, got a flat shape "
                  "(a convolution cannot follow Flatten or Linear)");
    static constexpr std::size_t in_c = ImageShape<In> ? In::dims[0] : groups;
    // A flat input has already been reported; stand-in sizes keep the error from cascading.
    static constexpr std::size_t in_h =
        ImageShape<In> ? In::dims[1] : dilation.h * (kernel.h - 1) + 1;
    static constexpr std::size_t in_w =
        ImageShape<In> ? In::dims[2] : dilation.w * (kernel.w - 1) + 1;
    static_assert(in_c % groups == 0, "Conv2d: groups must divide the input channels");
    static constexpr bool fits = in_h + 2 * padding.h >= dilation.h * (kernel.h - 1) + 1 &&
                                 in_w + 2 * padding.w >= dilation.w * (kernel.w - 1) + 1;
    static_assert(fits, "Conv2d: the kernel is larger than the padded input");

    static constexpr backend::ConvGeometry geometry{
        in_c,     in_h,     in_w,      OutChannels, fits ? kernel.h : 1, fits ? kernel.w : 1,
        stride.h, stride.w, padding.h, padding.w,   dilation.h,          dilation.w,
        groups,   has_bias};

    using input_shape = In;
    using output_shape =
        image_layer_output<In, Shape<OutChannels, geometry.out_height(), geometry.out_width()>>;

    static constexpr std::size_t fan_in = geometry.patch();
    static constexpr std::size_t weight_size = geometry.weight_size();
    static constexpr auto params = [] {
      if constexpr (has_bias)
        return std::array<ParamSpec, 2>{
            {{"weight", {OutChannels, in_c / groups, kernel.h, kernel.w}, 4},
             {"bias", {OutChannels}, 1}}};
      else
        return std::array<ParamSpec, 1>{
            {{"weight", {OutChannels, in_c / groups, kernel.h, kernel.w}, 4}}};
    }();
    static constexpr std::array<BufferSpec, 0> buffers{};
    static constexpr std::size_t parameter_count = total_size(params);
    static constexpr std::size_t macs = weight_size * geometry.out_pixels();
    static constexpr std::size_t saved_per_sample = 0;
    using needs = kernel_ops<op::conv2d>;
    template <class B>
    static constexpr std::size_t scratch_size(std::size_t batch, std::size_t workers) {
      return kernels<B>::template conv2d_scratch_size<geometry>(batch, workers);
    }

    static std::string describe() {
      std::string text = "Conv2d(" + std::to_string(in_c) + "->" + std::to_string(OutChannels) +
                         ", " + std::to_string(kernel.h) + "x" + std::to_string(kernel.w);
      if (stride.h != 1 || stride.w != 1)
        text += ", stride " + std::to_string(stride.h) +
                (stride.h == stride.w ? "" : "x" + std::to_string(stride.w));
      if (padding.h != 0 || padding.w != 0)
        text += ", pad " + std::to_string(padding.h) +
                (padding.h == padding.w ? "" : "x" + std::to_string(padding.w));
      if (dilation.h != 1 || dilation.w != 1) text += ", dilation " + std::to_string(dilation.h);
      if (groups != 1) text += ", groups " + std::to_string(groups);
      if (!has_bias) text += ", no bias";
      return text + ")";
    }

    // PyTorch's default: kaiming_uniform(a=sqrt(5)) for the weight, which is U(+-1/sqrt(fan_in)),
    // and the same bound for the bias.
    template <class T>
    static void init(T* p, T*, Rng& rng) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
      std::uniform_real_distribution<double> uniform(-bound, bound);
      for (std::size_t i = 0; i < parameter_count; ++i) p[i] = static_cast<T>(uniform(rng));
    }

    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      kernels<B>::template conv2d_forward<geometry>(ctx.exec, ctx.batch, ctx.params, x, y,
                                                    ctx.scratch);
    }
    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T* x, const T*, const T* dy, T* dx) {
      kernels<B>::template conv2d_backward<geometry>(ctx.exec, ctx.batch, ctx.params, x, dy, dx,
                                                     ctx.grads, ctx.scratch);
    }
  };
};

}  // namespace strata
