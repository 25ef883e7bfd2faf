// Linear<OutFeatures, Options...>: PyTorch's nn.Linear with in_features inferred.
//   Options: NoBias
// Parameters: weight [Out, In], bias [Out]; PyTorch's default initialisation.
#pragma once

#include <cmath>
#include <string>

#include "strata/backend/geometry.hpp"
#include "strata/core/layer.hpp"
#include "strata/core/options.hpp"

namespace strata {

template <std::size_t OutFeatures, class... Options>
struct Linear : layer_spec {
  static_assert(((std::is_same_v<Options, NoBias>)&&...), "Linear: the only option is NoBias");
  static_assert(OutFeatures > 0, "Linear: the number of output features must be positive");
  static constexpr bool has_bias = !detail::has_option<NoBias, Options...>;

  template <class In>
  struct bind {
    static_assert(FlatShape<In>,
                  "Linear: input must be flat, Shape<N>; insert st::Flatten before Linear");
    static constexpr std::size_t in_features = FlatShape<In> ? In::size : 1;

    using input_shape = In;
    using output_shape = Shape<OutFeatures>;

    static constexpr auto params = [] {
      if constexpr (has_bias)
        return std::array<ParamSpec, 2>{
            {{"weight", {OutFeatures, in_features}, 2}, {"bias", {OutFeatures}, 1}}};
      else
        return std::array<ParamSpec, 1>{{{"weight", {OutFeatures, in_features}, 2}}};
    }();
    static constexpr std::array<BufferSpec, 0> buffers{};
    using needs = kernel_ops<op::gemm>;
    static constexpr std::size_t parameter_count = total_size(params);
    static constexpr std::size_t macs = in_features * OutFeatures;
    static constexpr std::size_t saved_per_sample = 0;
    template <class B>
    static constexpr std::size_t scratch_size(std::size_t, std::size_t) {
      return 0;
    }

    static std::string describe() {
      return "Linear(" + std::to_string(in_features) + "->" + std::to_string(OutFeatures) +
             (has_bias ? ")" : ", no bias)");
    }

    template <class T>
    static void init(T* p, T*, Rng& rng) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
      std::uniform_real_distribution<double> uniform(-bound, bound);
      for (std::size_t i = 0; i < parameter_count; ++i) p[i] = static_cast<T>(uniform(rng));
    }

    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      const T* weight = ctx.params;
      // y[N, Out] = x[N, In] * W^T
      kernels<B>::gemm(ctx.exec, backend::Op::none, backend::Op::transpose, ctx.batch, OutFeatures,
                       in_features, T(1), x, in_features, weight, in_features, T(0), y,
                       OutFeatures);
      if constexpr (has_bias)
        kernels<B>::add_row_bias(ctx.exec, ctx.batch, OutFeatures,
                                 weight + OutFeatures * in_features, y);
    }

    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T* x, const T*, const T* dy, T* dx) {
      const T* weight = ctx.params;
      // dW[Out, In] = dy^T[Out, N] * x[N, In]
      kernels<B>::gemm(ctx.exec, backend::Op::transpose, backend::Op::none, OutFeatures,
                       in_features, ctx.batch, T(1), dy, OutFeatures, x, in_features, T(0),
                       ctx.grads, in_features);
      // dbias[Out] = sum over the batch of dy
      if constexpr (has_bias)
        kernels<B>::sum_rows(ctx.exec, ctx.batch, OutFeatures, dy,
                             ctx.grads + OutFeatures * in_features);
      // dx[N, In] = dy[N, Out] * W[Out, In]
      if (dx)
        kernels<B>::gemm(ctx.exec, backend::Op::none, backend::Op::none, ctx.batch, in_features,
                         OutFeatures, T(1), dy, OutFeatures, weight, in_features, T(0), dx,
                         in_features);
    }
  };
};

}  // namespace strata
