// BatchNorm2d<Options...>: PyTorch's nn.BatchNorm2d with the channels inferred.
//   Options: Eps<1, 1000> (default 1e-5), Momentum<1, 100> (default 1/10), as exact ratios
//   because clang 14 has no floating-point template arguments.
// Parameters: weight (gamma, init 1) and bias (beta, init 0), [C]. Buffers: running_mean
// (init 0) and running_var (init 1), [C]. torchvision's state_dict also has
// num_batches_tracked; it only matters when momentum is None (a cumulative average), which
// strata does not offer, so it is not kept.
// Also accepts a flat Shape<C>, with nn.BatchNorm1d's semantics on [N, C] (statistics over N).
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "strata/backend/geometry.hpp"
#include "strata/core/layer.hpp"

namespace strata {

template <std::intmax_t Num, std::intmax_t Den = 1>
struct Eps {};
template <std::intmax_t Num, std::intmax_t Den = 1>
struct Momentum {};

namespace detail {

template <template <std::intmax_t, std::intmax_t> class Opt, class... Opts>
struct find_ratio {
  static constexpr bool found = false;
  static constexpr double value = 0;
};
template <template <std::intmax_t, std::intmax_t> class Opt, std::intmax_t Num, std::intmax_t Den,
          class... Rest>
struct find_ratio<Opt, Opt<Num, Den>, Rest...> {
  static_assert(Num > 0 && Den > 0, "BatchNorm2d: Eps<> and Momentum<> must be positive ratios");
  static constexpr bool found = true;
  static constexpr double value = static_cast<double>(Num) / static_cast<double>(Den);
};
template <template <std::intmax_t, std::intmax_t> class Opt, class First, class... Rest>
struct find_ratio<Opt, First, Rest...> : find_ratio<Opt, Rest...> {};

template <class T>
inline constexpr bool is_batchnorm_option = false;
template <std::intmax_t N, std::intmax_t D>
inline constexpr bool is_batchnorm_option<Eps<N, D>> = true;
template <std::intmax_t N, std::intmax_t D>
inline constexpr bool is_batchnorm_option<Momentum<N, D>> = true;

}  // namespace detail

template <class... Options>
struct BatchNorm2d : layer_spec {
  static_assert((detail::is_batchnorm_option<Options> && ...),
                "BatchNorm2d: unknown option; use Eps<Num, Den> or Momentum<Num, Den>");
  static constexpr double eps = detail::find_ratio<Eps, Options...>::found
                                    ? detail::find_ratio<Eps, Options...>::value
                                    : 1e-5;
  static constexpr double momentum = detail::find_ratio<Momentum, Options...>::found
                                         ? detail::find_ratio<Momentum, Options...>::value
                                         : 0.1;
  static_assert(momentum <= 1, "BatchNorm2d: Momentum<> must be at most 1");

  template <class In>
  struct bind {
    static_assert(ImageShape<In> || FlatShape<In>,
                  "BatchNorm2d: input must be an image Shape<C, H, W> or flat Shape<C>");
    static constexpr std::size_t channels = In::dims[0];
    static constexpr backend::NormGeometry geometry{channels, In::size / channels};

    using input_shape = In;
    using needs = kernel_ops<op::batchnorm>;
    using output_shape = In;
    static constexpr std::array<ParamSpec, 2> params{
        {{"weight", {channels}, 1}, {"bias", {channels}, 1}}};
    static constexpr std::array<BufferSpec, 2> buffers{
        {{"running_mean", {channels}, 1}, {"running_var", {channels}, 1}}};
    static constexpr std::size_t parameter_count = 2 * channels;
    static constexpr std::size_t macs = 0;
    // Backward needs only the batch's mean (as hi + lo) and 1/std per channel, 3C values
    // whatever the batch; saved holds saved_per_sample * batch >= 3C of them, so they live at
    // its start.
    static constexpr std::size_t saved_per_sample = backend::batchnorm_saved_rows * channels;
    template <class B>
    static constexpr std::size_t scratch_size(std::size_t, std::size_t) {
      return 0;
    }

    static std::string describe() {
      return std::string(ImageShape<In> ? "BatchNorm2d(" : "BatchNorm1d(") +
             std::to_string(channels) + ")";
    }

    template <class T>
    static void init(T* p, T* b, Rng&) {
      for (std::size_t c = 0; c < channels; ++c) {
        p[c] = T(1);
        p[channels + c] = T(0);
        b[c] = T(0);
        b[channels + c] = T(1);
      }
    }

    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      const T* gamma = ctx.params;            // [C]
      const T* beta = ctx.params + channels;  // [C]
      if constexpr (geometry.plane == 1)
        if (ctx.training && ctx.batch == 1)
          throw std::invalid_argument(
              describe() +
              ": training needs more than one value per channel, got a batch of 1 (as "
              "PyTorch's BatchNorm1d); train with a batch of 2 or more, or call eval()");
      if (ctx.training)
        kernels<B>::template batchnorm_forward_train<geometry>(
            ctx.exec, ctx.batch, x, y, gamma, beta, ctx.buffers, ctx.saved, eps, momentum);
      else
        kernels<B>::template batchnorm_forward_eval<geometry>(
            ctx.exec, ctx.batch, x, y, gamma, beta, static_cast<const T*>(ctx.buffers), eps);
    }

    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T* x, const T*, const T* dy, T* dx) {
      const T* saved = ctx.saved;      // [3, C]: batch mean hi, lo, 1/std
      const T* running = ctx.buffers;  // [2, C]: running mean, variance
      kernels<B>::template batchnorm_backward<geometry>(
          ctx.exec, ctx.batch, ctx.training, x, dy, dx, ctx.params, ctx.grads, saved, running, eps);
    }
  };
};

}  // namespace strata
