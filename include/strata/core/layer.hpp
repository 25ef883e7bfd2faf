// The contract between layer types, containers and the model.
//
// A layer *spec* (Conv2d<32, 3, Pad<1>>) carries only hyper-parameters. Bound to an input
// shape through `Spec::template bind<In>` it becomes a *bound layer*: a stateless type that
// knows, at compile time, its output shape, parameter tensors, MACs and buffer sizes, and
// whose static forward/backward run on memory that the model owns.
//
// A bound layer B provides (stateless_layer below gives the defaults of a layer without
// parameters or state):
//
//   using input_shape, output_shape        Shape<...> of one sample in and out.
//   params, buffers                        std::array of ParamSpec: the trainable tensors and
//                                          the non-trainable ones (running statistics), with
//                                          PyTorch's names, dims and order.
//   parameter_count, macs                  sums over params; multiply-accumulates per sample.
//   saved_per_sample                       elements of saved state per sample, kept from a
//                                          forward to the backward that follows it.
//   template <class Backend>               elements of scratch a call may use, for a batch and
//   scratch_size(batch, workers)           the backend's worker count (threads on the CPU).
//   using needs = kernel_ops<op::...>      kernel families beyond op::elementwise (optional;
//                                          containers: the union of their children's).
//   describe()                             one line for summaries and error messages.
//   template <class T> init(params, buffers, rng)
//                                          PyTorch's default initialisation, on the host.
//   template <class T, class B> forward(const Ctx<T, B>& ctx, const T* x, T* y)
//       x: [batch, input_shape], y: [batch, output_shape], both the backend's memory. Writes
//       all of y, and in training the saved state; may update buffers (running statistics).
//   template <class T, class B> backward(ctx, x, y, dy, dx)
//       Needs the forward of the same x just before, in the same mode. Overwrites all of
//       ctx.grads (this layer's parameter gradients; no zeroing needed) and, unless dx is null
//       (the first layer's input gradient, which nobody reads), all of dx. Reads dy, x, y and
//       the saved state; scratch is free for the duration of the call.
//
// forward and backward compute only through kernels<B> (backend/kernels.hpp) and never name a
// backend; they never allocate.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "strata/backend/kernels.hpp"
#include "strata/core/shape.hpp"

namespace strata {

// Every layer spec derives from this, so that "is this a layer?" has a readable answer.
struct layer_spec {};

template <class T>
concept LayerSpec = std::derived_from<T, layer_spec>;

// A compile-time name ("layer1.0.conv1.weight"); containers prefix their children's names.
// A name longer than capacity keeps its first capacity characters and is marked truncated;
// a network holding one does not compile (check_tensor_names, named.hpp).
struct Name {
  static constexpr std::size_t capacity = 95;
  char text[capacity + 1]{};
  std::size_t length = 0;
  bool truncated = false;

  constexpr Name() = default;
  constexpr Name(const char* s) {  // NOLINT: implicit, so that specs can write {"weight", ...}
    for (; *s != '\0'; ++s) push(*s);
  }
  constexpr explicit Name(std::string_view s) {
    for (char c : s) push(c);
  }
  constexpr std::string_view view() const { return {text, length}; }

  // "<prefix>.<name>", the key PyTorch's state_dict uses for a child module's tensor; an empty
  // prefix leaves the name as it is (a child whose tensors PyTorch keeps in its parent's scope).
  constexpr Name prefixed(std::string_view prefix) const {
    if (prefix.empty()) return *this;
    Name out;
    for (char c : prefix) out.push(c);
    out.push('.');
    for (std::size_t i = 0; i < length; ++i) out.push(text[i]);
    out.truncated = out.truncated || truncated;
    return out;
  }
  constexpr Name prefixed(std::size_t index) const {
    return prefixed(Name{}.numbered(index).view());
  }

  // This name followed by the decimal digits of number ("branch" -> "branch2").
  constexpr Name numbered(std::size_t number) const {
    char digits[24]{};
    std::size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + number % 10);
      number /= 10;
    } while (number != 0);
    Name out = *this;
    while (n != 0) out.push(digits[--n]);
    return out;
  }

 private:
  constexpr void push(char c) {
    if (length < capacity)
      text[length++] = c;
    else
      truncated = true;
  }
};

// A trainable tensor of a layer, with PyTorch's name and layout.
struct ParamSpec {
  Name name;
  std::array<std::size_t, 4> dims{};
  std::size_t rank = 0;

  constexpr std::size_t size() const {
    std::size_t n = 1;
    for (std::size_t i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
};

// A tensor the model keeps beside the parameters but never trains (BatchNorm's running
// statistics); saved in checkpoints, not counted in parameter_count.
using BufferSpec = ParamSpec;

// Random source for initialisation and dropout: one per model, seeded by the user.
using Rng = std::mt19937_64;

// What a bound layer's forward and backward see at run time, on backend Backend. Every pointer
// addresses the backend's memory, allocated once by the model; layers never allocate. Built in
// one place, runtime/context.hpp.
template <class T, class Backend>
struct Ctx {
  using backend = Backend;
  const T* params = nullptr;  // this layer's parameters, in ParamSpec order
  T* grads = nullptr;         // same layout; backward overwrites (no zeroing needed)
  T* saved = nullptr;         // saved_per_sample * batch: state kept from forward to backward
  T* scratch = nullptr;       // scratch_size<Backend>(batch, workers): free during a call
  T* buffers = nullptr;       // non-trainable tensors (BufferSpec order)
  std::size_t batch = 0;
  exec_t<Backend> exec{};  // what kernels<Backend> runs on (threads, a stream, ...)
  bool training = true;
  Rng* rng = nullptr;

  // The context of a child of a container: its parameters and buffers start at the given
  // offsets, its saved state and scratch the given numbers of elements per sample further in.
  Ctx child(std::size_t param_offset, std::size_t buffer_offset, std::size_t saved_per_sample,
            std::size_t scratch_per_sample) const {
    Ctx c = *this;
    c.params = params + param_offset;
    c.grads = grads ? grads + param_offset : nullptr;
    c.buffers = buffers ? buffers + buffer_offset : nullptr;
    c.saved = saved + saved_per_sample * batch;
    c.scratch = scratch + scratch_per_sample * batch;
    return c;
  }
};

// Where a network keeps its auxiliary classifiers' logits (AuxiliaryHead, auxiliary.hpp): Head
// is the bound AuxiliaryHead, Offset the per-sample offset of its saved state in the saved state
// of the container that lists the site. A bound layer that holds auxiliary heads declares them
// as `using auxiliary_sites = site_list<...>`, in network order; others declare nothing.
template <std::size_t Offset, class Head>
struct auxiliary_site {
  static constexpr std::size_t offset = Offset;
  using head = Head;
};

template <class... Sites>
struct site_list {
  static constexpr std::size_t size = sizeof...(Sites);
};

namespace detail {

template <class B>
struct sites_of {
  using type = site_list<>;
};
template <class B>
requires requires {
  typename B::auxiliary_sites;
}
struct sites_of<B> {
  using type = typename B::auxiliary_sites;
};

template <std::size_t By, class List>
struct shift_sites;
template <std::size_t By, std::size_t... Offsets, class... Heads>
struct shift_sites<By, site_list<auxiliary_site<Offsets, Heads>...>> {
  using type = site_list<auxiliary_site<Offsets + By, Heads>...>;
};

template <class A, class B>
struct join_sites;
template <class... A, class... B>
struct join_sites<site_list<A...>, site_list<B...>> {
  using type = site_list<A..., B...>;
};

}  // namespace detail

template <class B>
using auxiliary_sites_t = typename detail::sites_of<B>::type;

// Bound layer B's auxiliary sites with their offsets moved by By (B's saved state starts By
// elements per sample into its container's).
template <std::size_t By, class B>
using shifted_sites_t = typename detail::shift_sites<By, auxiliary_sites_t<B>>::type;

template <class B>
concept BoundLayer = requires {
  typename B::input_shape;
  typename B::output_shape;
  requires AnyShape<typename B::input_shape>;
  requires AnyShape<typename B::output_shape>;
  { B::parameter_count } -> std::convertible_to<std::size_t>;
  { B::macs } -> std::convertible_to<std::size_t>;
  { B::saved_per_sample } -> std::convertible_to<std::size_t>;
  // Any backend tag will do: only the declaration is checked, not the backend's sizes.
  {
    B::template scratch_size<void>(std::size_t{}, std::size_t{})
    } -> std::convertible_to<std::size_t>;
  {B::params};
  { B::describe() } -> std::convertible_to<std::string>;
};

// Spec L accepts input shape In: binding yields a bound layer.
template <class L, class In>
concept LayerFor = LayerSpec<L> && AnyShape<In> && requires {
  typename L::template bind<In>;
} && BoundLayer<typename L::template bind<In>>;

// Defaults for layers without parameters or state; bound layers inherit and override.
struct stateless_layer {
  static constexpr std::size_t parameter_count = 0;
  static constexpr std::size_t macs = 0;
  static constexpr std::size_t saved_per_sample = 0;
  static constexpr std::array<ParamSpec, 0> params{};
  static constexpr std::array<BufferSpec, 0> buffers{};
  template <class Backend>
  static constexpr std::size_t scratch_size(std::size_t, std::size_t) {
    return 0;
  }
  template <class T>
  static void init(T*, T*, Rng&) {}
};

template <class B>
constexpr std::size_t buffer_count() {
  std::size_t n = 0;
  for (const auto& b : B::buffers) n += b.size();
  return n;
}

template <std::size_t N>
constexpr std::size_t total_size(const std::array<ParamSpec, N>& specs) {
  std::size_t n = 0;
  for (const auto& s : specs) n += s.size();
  return n;
}

// Lets a failing static_assert depend on a template parameter, so it fires only when the
// offending specialisation is formed (and the compiler prints which one).
template <class...>
inline constexpr bool always_false = false;

}  // namespace strata
