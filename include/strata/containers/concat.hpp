// Concat<Branches...>: every branch sees the same input; their outputs are concatenated along
// channels (torch.cat(dim=1)), as in Inception modules. Spatial sizes must agree. Parameters:
// branch i's under the prefix "branch<i+1>" (torchvision's GoogLeNet naming), or under the
// branch's own name when it is Named<...> or Unprefixed<...> (Inception-v3's).
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <tuple>
#include <utility>

#include "strata/containers/sequential.hpp"
#include "strata/core/layer.hpp"

namespace strata {

namespace detail {

// Instantiated only on a mismatch, so that the compiler prints the branch number and both
// shapes.
template <std::size_t BranchNumber, class BranchOutput, class FirstBranchOutput>
struct concat_spatial_mismatch {
  static_assert(always_false<BranchOutput>,
                "Concat: every branch must produce the same height and width as branch 1 (see "
                "the branch number and the two shapes above)");
  // Already reported above: true keeps the caller's check from repeating the error.
  static constexpr bool value = true;
};

template <std::size_t I, class Out, class First>
constexpr bool same_spatial() {
  static_assert(ImageShape<Out>, "Concat: every branch must produce an image Shape<C, H, W>");
  if constexpr (!ImageShape<Out> || !ImageShape<First>)
    return false;
  else if constexpr (Out::dims[1] == First::dims[1] && Out::dims[2] == First::dims[2])
    return true;
  else
    return concat_spatial_mismatch<I + 1, Out, First>::value;
}

template <class In, class... Branches>
struct bound_concat {
  static constexpr std::size_t branch_count = sizeof...(Branches);
  using branches = std::tuple<typename Branches::template bind<In>...>;
  template <std::size_t I>
  using branch = std::tuple_element_t<I, branches>;
  using first_out = typename branch<0>::output_shape;

  static constexpr bool spatial_ok = [] {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return (same_spatial<I, typename branch<I>::output_shape, first_out>() && ...);
    }
    (std::make_index_sequence<branch_count>{});
  }();
  static_assert(spatial_ok);
  static_assert((auxiliary_sites_t<typename Branches::template bind<In>>::size + ...) == 0,
                "Concat: an AuxiliaryHead must be on the network's chain, not inside a branch");

  static constexpr std::array<std::size_t, branch_count> out_sizes{
      Branches::template bind<In>::output_shape::size...};
  static constexpr auto out_offsets = prefix_sums<branch_count>(out_sizes);
  static constexpr std::size_t largest_out = *std::max_element(out_sizes.begin(), out_sizes.end());

  using input_shape = In;
  using needs = needs_of_all_t<typename Branches::template bind<In>...>;
  using output_shape = Shape<(Branches::template bind<In>::output_shape::dims[0] + ...),
                             first_out::dims[1], first_out::dims[2]>;

  static constexpr std::size_t parameter_count =
      (Branches::template bind<In>::parameter_count + ...);
  static constexpr std::size_t macs = (Branches::template bind<In>::macs + ...);
  static constexpr auto param_offsets =
      prefix_sums<branch_count>({Branches::template bind<In>::parameter_count...});
  static constexpr auto buffer_offsets =
      prefix_sums<branch_count>({buffer_count<typename Branches::template bind<In>>()...});
  static constexpr auto saved_offsets =
      prefix_sums<branch_count>({Branches::template bind<In>::saved_per_sample...});
  // Saved per sample: each branch's output (its backward may need it), then the branches' state.
  static constexpr std::size_t saved_per_sample = output_shape::size + saved_offsets[branch_count];
  // Scratch: one branch's output gradient, one branch's input gradient, then the branches'.
  template <class B>
  static constexpr std::size_t scratch_size(std::size_t batch, std::size_t threads) {
    return (largest_out + In::size) * batch +
           std::max({Branches::template bind<In>::template scratch_size<B>(batch, threads)...});
  }

  // The branches' parameter (or buffer) specs, each under "branch<i+1>".
  template <bool Parameters>
  static constexpr auto prefixed_specs() {
    constexpr auto specs_of = []<class B>(std::type_identity<B>) {
      if constexpr (Parameters)
        return B::params;
      else
        return B::buffers;
    };
    constexpr std::size_t total =
        (specs_of(std::type_identity<typename Branches::template bind<In>>{}).size() + ... + 0);
    std::array<ParamSpec, total> all{};
    std::size_t next = 0, number = 1;
    (
        [&] {
          using B = typename Branches::template bind<In>;
          const Name prefix = child_prefix<B>(Name("branch").numbered(number++));
          for (ParamSpec spec : specs_of(std::type_identity<B>{})) {
            spec.name = spec.name.prefixed(prefix.view());
            all[next++] = spec;
          }
        }(),
        ...);
    return all;
  }
  static constexpr auto params = prefixed_specs<true>();
  static constexpr auto buffers = prefixed_specs<false>();

  static std::string describe() {
    std::string text = "Concat(";
    ((text += Branches::template bind<In>::describe() + " | "), ...);
    text.resize(text.size() - 3);
    return text + ")";
  }

  template <class T>
  static void init(T* params, T* buffer_data, Rng& rng) {
    for_each_branch([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      branch<I>::init(params + param_offsets[I], buffer_data + buffer_offsets[I], rng);
    });
  }

  template <class T, class B>
  static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
    for_each_branch([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      T* out = ctx.saved + out_offsets[I] * ctx.batch;  // [N, C_i, H, W]
      branch<I>::forward(branch_ctx<I>(ctx), x, out);
      // Each sample's channels of branch I go to their place in y [N, sum C, H, W].
      kernels<B>::copy_blocks(ctx.exec, ctx.batch, out_sizes[I], static_cast<const T*>(out),
                              out_sizes[I], y + out_offsets[I], output_shape::size);
    });
  }

  template <class T, class B>
  static void backward(const Ctx<T, B>& ctx, const T* x, const T*, const T* dy, T* dx) {
    T* branch_dy = ctx.scratch;                          // [N, C_i, H, W]
    T* branch_dx = branch_dy + largest_out * ctx.batch;  // [N, in]
    for_each_branch([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      kernels<B>::copy_blocks(ctx.exec, ctx.batch, out_sizes[I], dy + out_offsets[I],
                              output_shape::size, branch_dy, out_sizes[I]);
      const T* out = ctx.saved + out_offsets[I] * ctx.batch;
      // The first branch writes dx; the others add theirs to it.
      T* grad_in = !dx ? nullptr : I == 0 ? dx : branch_dx;
      branch<I>::backward(branch_ctx<I>(ctx), x, out, branch_dy, grad_in);
      if (dx && I != 0) kernels<B>::add(ctx.exec, In::size * ctx.batch, dx, branch_dx, dx);
    });
  }

  template <std::size_t I, class T, class B>
  static Ctx<T, B> branch_ctx(const Ctx<T, B>& ctx) {
    return ctx.child(param_offsets[I], buffer_offsets[I], output_shape::size + saved_offsets[I],
                     largest_out + In::size);
  }

  template <class F>
  static void for_each_branch(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(std::integral_constant<std::size_t, I>{}), ...);
    }
    (std::make_index_sequence<branch_count>{});
  }
};

}  // namespace detail

template <class... Branches>
struct Concat : layer_spec {
  static_assert(sizeof...(Branches) >= 1, "Concat: needs at least one branch");
  static_assert((LayerSpec<Branches> && ...),
                "Concat: every branch must be a strata layer or block");
  template <class In>
  using bind = detail::bound_concat<In, Branches...>;
};

}  // namespace strata
