// Sequential<Input<C, H, W>, Layers...>: a network. Sequential<Layers...> without Input is a
// block that can itself be used as a layer (inside Repeat, Residual, ...).
//
// A bound Sequential is a bound layer: its parameters are its children's, concatenated; its
// saved state holds every intermediate activation (needed by backward and readable by the
// user), followed by the children's own saved state.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <tuple>
#include <utility>

#include "strata/core/layer.hpp"
#include "strata/core/named.hpp"

namespace strata {

namespace detail {

template <class... Ts>
struct type_list {};

template <class T, class List>
struct prepend;
template <class T, class... Ts>
struct prepend<T, type_list<Ts...>> {
  using type = type_list<T, Ts...>;
};

// Stands in for a non-layer element after its error was reported, so that one mistake gives
// one message.
template <class In>
struct invalid_layer : stateless_layer {
  using input_shape = In;
  using output_shape = In;
  static std::string describe() { return "invalid"; }
  template <class T, class B>
  static void forward(const Ctx<T, B>&, const T*, T*) {}
  template <class T, class B>
  static void backward(const Ctx<T, B>&, const T*, const T*, const T*, T*) {}
};

template <class L, class In, bool = LayerSpec<L>>
struct checked_bind {
  using type = typename L::template bind<In>;
};
template <class L, class In>
struct checked_bind<L, In, false> {
  static_assert(always_false<L>,
                "Sequential: every element after Input must be a strata layer (Conv2d, ReLU, ...)");
  using type = invalid_layer<In>;
};

// Binds each spec to the output shape of the one before it.
template <class In, class... Specs>
struct bind_chain {
  using type = type_list<>;
};
template <class In, class Spec, class... Rest>
struct bind_chain<In, Spec, Rest...> {
  using bound = typename checked_bind<Spec, In>::type;
  using type =
      typename prepend<bound,
                       typename bind_chain<typename bound::output_shape, Rest...>::type>::type;
};

template <class List>
struct bound_sequence;

template <class In, class... Bound>
struct bound_sequential;

template <class In, class... Bound>
struct bound_sequence<type_list<In, Bound...>> {
  using type = bound_sequential<In, Bound...>;
};

// The auxiliary sites of a chain of layers whose saved states follow one another from Offset.
template <std::size_t Offset, class... Layers>
struct chain_sites {
  using type = site_list<>;
};
template <std::size_t Offset, class Layer, class... Rest>
struct chain_sites<Offset, Layer, Rest...> {
  using type = typename join_sites<
      shifted_sites_t<Offset, Layer>,
      typename chain_sites<Offset + Layer::saved_per_sample, Rest...>::type>::type;
};

template <std::size_t N>
constexpr std::array<std::size_t, N + 1> prefix_sums(const std::array<std::size_t, N>& sizes) {
  std::array<std::size_t, N + 1> offsets{};
  for (std::size_t i = 0; i < N; ++i) offsets[i + 1] = offsets[i] + sizes[i];
  return offsets;
}

template <class In, class... Bound>
struct bound_sequential {
  static_assert(sizeof...(Bound) > 0, "Sequential: needs at least one layer");
  static constexpr std::size_t layer_count = sizeof...(Bound);
  using layers = std::tuple<Bound...>;
  template <std::size_t I>
  using layer = std::tuple_element_t<I, layers>;

  using input_shape = In;
  using output_shape = typename layer<layer_count - 1>::output_shape;
  using needs = needs_of_all_t<Bound...>;

  static constexpr std::size_t parameter_count = (Bound::parameter_count + ...);
  static constexpr std::size_t macs = (Bound::macs + ...);

  // Offsets (in elements) of each child's parameters, buffers, and per-sample activation and
  // saved state.
  static constexpr auto param_offsets = prefix_sums<layer_count>({Bound::parameter_count...});
  static constexpr auto buffer_offsets = prefix_sums<layer_count>({buffer_count<Bound>()...});
  static constexpr std::array<std::size_t, layer_count> output_sizes{Bound::output_shape::size...};
  // Activation i is the output of layer i; the last one is the caller's output buffer.
  static constexpr auto activation_offsets = [] {
    std::array<std::size_t, layer_count> sizes = output_sizes;
    sizes[layer_count - 1] = 0;
    return prefix_sums<layer_count>(sizes);
  }();
  static constexpr std::size_t activations_per_sample = activation_offsets[layer_count];
  static constexpr auto saved_offsets = prefix_sums<layer_count>({Bound::saved_per_sample...});
  static constexpr std::size_t saved_per_sample =
      activations_per_sample + saved_offsets[layer_count];
  static constexpr std::size_t largest_activation =
      *std::max_element(output_sizes.begin(), output_sizes.end());
  // The children's auxiliary heads, in order; their saved states follow the activations.
  using auxiliary_sites = typename chain_sites<activations_per_sample, Bound...>::type;

  template <class B>
  static constexpr std::size_t scratch_size(std::size_t batch, std::size_t threads) {
    // Two gradient buffers that backward alternates between, then the children's scratch.
    return 2 * largest_activation * batch +
           std::max({Bound::template scratch_size<B>(batch, threads)...});
  }

  static constexpr auto params = [] {
    std::array<ParamSpec, (Bound::params.size() + ... + 0)> all{};
    std::size_t next = 0, index = 0;
    (
        [&] {
          for (ParamSpec spec : Bound::params) {
            spec.name = spec.name.prefixed(child_prefix<Bound>(Name{}.numbered(index)).view());
            all[next++] = spec;
          }
          ++index;
        }(),
        ...);
    return all;
  }();
  static constexpr auto buffers = [] {
    std::array<BufferSpec, (Bound::buffers.size() + ... + 0)> all{};
    std::size_t next = 0, index = 0;
    (
        [&] {
          for (BufferSpec spec : Bound::buffers) {
            spec.name = spec.name.prefixed(child_prefix<Bound>(Name{}.numbered(index)).view());
            all[next++] = spec;
          }
          ++index;
        }(),
        ...);
    return all;
  }();

  static std::string describe() {
    std::string text = "Sequential(";
    ((text += Bound::describe() + ", "), ...);
    text.resize(text.size() - 2);
    return text + ")";
  }

  template <class T>
  static void init(T* params, T* buffer_data, Rng& rng) {
    for_each_layer([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      layer<I>::init(params + param_offsets[I], buffer_data + buffer_offsets[I], rng);
    });
  }

  // Where layer I's output lives inside this block's saved state, for a given batch.
  static constexpr std::size_t activation_offset(std::size_t layer_index, std::size_t batch) {
    return activation_offsets[layer_index] * batch;
  }

  template <class T, class B>
  static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
    for_each_layer([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      const T* in = I == 0 ? x : ctx.saved + activation_offset(I - 1, ctx.batch);
      T* out = I + 1 == layer_count ? y : ctx.saved + activation_offset(I, ctx.batch);
      layer<I>::forward(child_ctx<I>(ctx), in, out);
    });
  }

  template <class T, class B>
  static void backward(const Ctx<T, B>& ctx, const T* x, const T* y, const T* dy, T* dx) {
    T* gradient[2] = {ctx.scratch, ctx.scratch + largest_activation * ctx.batch};
    for_each_layer_reversed([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      const T* in = I == 0 ? x : ctx.saved + activation_offset(I - 1, ctx.batch);
      const T* out = I + 1 == layer_count ? y : ctx.saved + activation_offset(I, ctx.batch);
      const T* grad_out = I + 1 == layer_count ? dy : gradient[(I + 1) % 2];
      T* grad_in = I == 0 ? dx : gradient[I % 2];
      layer<I>::backward(child_ctx<I>(ctx), in, out, grad_out, grad_in);
    });
  }

  template <std::size_t I, class T, class B>
  static Ctx<T, B> child_ctx(const Ctx<T, B>& ctx) {
    return ctx.child(param_offsets[I], buffer_offsets[I], activations_per_sample + saved_offsets[I],
                     2 * largest_activation);
  }

  template <class F>
  static void for_each_layer(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(std::integral_constant<std::size_t, I>{}), ...);
    }
    (std::make_index_sequence<layer_count>{});
  }
  template <class F>
  static void for_each_layer_reversed(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(std::integral_constant<std::size_t, layer_count - 1 - I>{}), ...);
    }
    (std::make_index_sequence<layer_count>{});
  }
};

template <class In, class... Specs>
using bind_sequential = typename bound_sequence<
    typename prepend<In, typename bind_chain<In, Specs...>::type>::type>::type;

}  // namespace detail

// A block of layers applied in order; usable wherever a layer is.
template <class... Specs>
struct Sequential : layer_spec {
  template <class In>
  using bind = detail::bind_sequential<In, Specs...>;
};

// A network: the input shape is fixed, so the whole chain is bound here, and a mistake in it
// (a layer's shapes, or two tensors with one name) is reported where the network type is first
// used.
template <std::size_t C, std::size_t H, std::size_t W, class... Specs>
struct Sequential<Input<C, H, W>, Specs...> : layer_spec,
                                              detail::bind_sequential<Shape<C, H, W>, Specs...> {
  static_assert(detail::check_tensor_names<detail::bind_sequential<Shape<C, H, W>, Specs...>>());
  template <class In>
  using bind = detail::bind_sequential<In, Specs...>;
};

template <std::size_t N, class... Specs>
struct Sequential<InputFlat<N>, Specs...> : layer_spec,
                                            detail::bind_sequential<Shape<N>, Specs...> {
  static_assert(detail::check_tensor_names<detail::bind_sequential<Shape<N>, Specs...>>());
  template <class In>
  using bind = detail::bind_sequential<In, Specs...>;
};

// A network type: a bound layer with a fixed input shape (e.g. Sequential<Input<...>, ...>).
template <class Net>
concept Network = BoundLayer<Net>;

}  // namespace strata
