// AuxiliaryHead<Head>: an auxiliary classifier branching off the main path, as GoogLeNet's
// aux1/aux2 and Inception-v3's AuxLogits. On the main path it is the identity. In training its
// forward also runs Head on its input and keeps the head's logits, with a gradient slot beside
// them, in its saved state; Model::auxiliary_outputs() hands them out as Output objects, in
// network order, for the caller's loss:
//
//   auto logits = model.forward(images);
//   auto [aux1, aux2] = model.auxiliary_outputs();
//   const st::Loss main = st::cross_entropy(logits, labels);     // each loss writes its gradient
//   const double aux = st::cross_entropy(aux1, labels, {.weight = 0.3}).value +  // into its slot
//                      st::cross_entropy(aux2, labels, {.weight = 0.3}).value;
//   model.backward(main);  // the total is main.value + aux; the heads' gradients are added in
//
// - A head whose loss was not computed contributes nothing: forward zeroes its gradient slot,
//   so backward gives its parameters zero gradients and adds nothing to the main path (as in
//   PyTorch, where an output left out of the loss gets no gradient). Not throwing keeps "train
//   without the auxiliary losses" a one-line change, at the cost of the head's work.
// - In evaluation the head does not run (torchvision returns only the main logits in eval), its
//   parameters get zero gradients, and auxiliary_outputs() throws.
// - `macs` counts the main path only, the figure torchvision's model tables give (measured in
//   eval, where the heads do not run); `head_macs` is the head's, per image, in training.
// - Parameters are the head's, under the AuxiliaryHead's own name (Named<"aux1", ...>).
// - An AuxiliaryHead belongs on a network's chain (Sequential, at any depth of Sequentials);
//   Concat and Residual refuse one inside them at compile time.
#pragma once

#include <algorithm>
#include <string>
#include <type_traits>

#include "strata/containers/sequential.hpp"
#include "strata/core/layer.hpp"

namespace strata {

namespace detail {

// Instantiated only when the head's output is not flat, so that the compiler prints its shape.
template <class HeadOutput>
struct auxiliary_head_not_flat {
  static_assert(always_false<HeadOutput>,
                "AuxiliaryHead: the head must end in flat logits, Shape<classes> (see the head's "
                "output shape above); end it with Flatten and Linear");
  // Already reported above: true keeps the caller's check from repeating the error.
  static constexpr bool value = true;
};

template <class S>
constexpr bool flat_logits() {
  if constexpr (S::rank == 1)
    return true;
  else
    return auxiliary_head_not_flat<S>::value;
}

template <class Head, class In>
struct bound_auxiliary_head {
  using head = typename Head::template bind<In>;
  using logits_shape = typename head::output_shape;
  static_assert(flat_logits<logits_shape>());
  static_assert(auxiliary_sites_t<head>::size == 0,
                "AuxiliaryHead: a head must not contain another AuxiliaryHead");
  static constexpr std::size_t classes = logits_shape::size;

  using input_shape = In;
  using needs = needs_t<head>;
  using output_shape = In;
  using auxiliary_sites = site_list<auxiliary_site<0, bound_auxiliary_head>>;

  static constexpr std::size_t parameter_count = head::parameter_count;
  static constexpr std::size_t macs = 0;
  static constexpr std::size_t head_macs = head::macs;
  static constexpr auto params = head::params;
  static constexpr auto buffers = head::buffers;
  // Saved per sample: the logits, their gradient slot, then the head's own state.
  static constexpr std::size_t own_saved = 2 * classes;
  static constexpr std::size_t saved_per_sample = own_saved + head::saved_per_sample;
  // Scratch: the head's input gradient, added into dx, then the head's.
  template <class B>
  static constexpr std::size_t scratch_size(std::size_t batch, std::size_t threads) {
    return In::size * batch + head::template scratch_size<B>(batch, threads);
  }

  static std::string describe() { return "AuxiliaryHead(" + head::describe() + ")"; }

  template <class T>
  static void init(T* params, T* buffer_data, Rng& rng) {
    head::init(params, buffer_data, rng);
  }

  // The logits [N, classes] and their gradient slot [N, classes] in this layer's saved state.
  template <class T>
  static T* logits(T* saved, std::size_t) {
    return saved;
  }
  template <class T>
  static T* logit_grads(T* saved, std::size_t batch) {
    return saved + classes * batch;
  }

  template <class T, class B>
  static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
    kernels<B>::copy(ctx.exec, ctx.batch * In::size, x, y);
    if (!ctx.training) return;
    head::forward(head_ctx(ctx), x, logits(ctx.saved, ctx.batch));
    kernels<B>::fill(ctx.exec, classes * ctx.batch, T(0), logit_grads(ctx.saved, ctx.batch));
  }

  // dx = dy + the head's input gradient from the gradient slot the loss filled (or left zero).
  template <class T, class B>
  static void backward(const Ctx<T, B>& ctx, const T* x, const T*, const T* dy, T* dx) {
    if (!ctx.training) {
      kernels<B>::fill(ctx.exec, parameter_count, T(0), ctx.grads);
      if (dx) kernels<B>::copy(ctx.exec, ctx.batch * In::size, dy, dx);
      return;
    }
    T* head_dx = dx ? ctx.scratch : nullptr;  // [N, in]
    head::backward(head_ctx(ctx), x, logits(ctx.saved, ctx.batch),
                   logit_grads(ctx.saved, ctx.batch), head_dx);
    if (dx) kernels<B>::add(ctx.exec, ctx.batch * In::size, dy, head_dx, dx);
  }

  template <class T, class B>
  static Ctx<T, B> head_ctx(const Ctx<T, B>& ctx) {
    return ctx.child(0, 0, own_saved, In::size);
  }
};

}  // namespace detail

template <class Head>
struct AuxiliaryHead : layer_spec {
  static_assert(LayerSpec<Head>, "AuxiliaryHead<Head>: Head must be a strata layer or block");
  template <class In>
  using bind = detail::bound_auxiliary_head<Head, In>;
};

// A run of layers for SequentialOf; LayersIf<On, ...> is the run when On and nothing otherwise,
// for a network whose auxiliary heads are a template option (GoogLeNet<Classes, In, AuxLogits>).
template <class... Layers>
using LayerList = detail::type_list<Layers...>;
template <bool On, class... Layers>
using LayersIf = std::conditional_t<On, LayerList<Layers...>, LayerList<>>;

namespace detail {

template <class... Parts>
struct sequential_of;
template <class... Layers>
struct sequential_of<type_list<Layers...>> {
  using type = Sequential<Layers...>;
};
template <class... A, class... B, class... Rest>
struct sequential_of<type_list<A...>, type_list<B...>, Rest...>
    : sequential_of<type_list<A..., B...>, Rest...> {};

}  // namespace detail

// Sequential<...> of the concatenated runs of layers (LayerList or LayersIf).
template <class... Parts>
using SequentialOf = typename detail::sequential_of<Parts...>::type;

}  // namespace strata
