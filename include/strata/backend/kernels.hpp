// The one interface between the math and the machines that execute it.
//
// Layers, containers and the model describe what to compute; they never name a backend. Every
// operation they run is a static function of kernels<Backend>, whose first argument is the
// backend's execution context (threads on the CPU; a stream and a BLAS handle on a GPU):
//
//   kernels<B>::copy(exec, count, from, to);
//   kernels<B>::template conv2d_forward<G>(exec, batch, params, x, y, scratch);
//
// Each backend specialises kernels<> once, in backend/<name>/kernels.hpp, with the same
// signatures; docs/backends.md lists the operations and their contracts. A backend names the
// operation families it implements (`using provides = kernel_ops<...>`) and a bound layer the
// families it needs beyond op::elementwise (`using needs = kernel_ops<...>`), so that
// Model<Net, B> refuses, at the user's line, a network with a layer that B cannot run.
#pragma once

#include <type_traits>

namespace strata {

// Backend tags: Model<Net, cpu>, Model<Net, cuda>.
struct cpu;
struct cuda;

template <class Backend>
struct kernels;

template <class Backend>
using exec_t = typename kernels<Backend>::exec;

// A backend whose kernels<> specialisation is visible here.
template <class Backend>
concept KnownBackend = requires {
  typename kernels<Backend>::exec;
};

// Operation families, the unit in which backends provide kernels and layers need them.
namespace op {
// copy, add, multiply, fill, the activations, softmax, per-plane scaling and dot products, block
// copies, row bias and row sums: what every backend provides and every container uses.
struct elementwise {};
struct gemm {};
struct conv2d {};
struct max_pool {};
struct avg_pool {};
struct adaptive_avg_pool {};
struct batchnorm {};
struct lrn {};
// ZeroPad2d and its gradient.
struct zero_pad {};
// Dropout's and stochastic depth's keep-masks.
struct random_mask {};
}  // namespace op

template <class... Ops>
struct kernel_ops {};

// Element-wise activation functions, the first template argument of
// kernels<B>::activation_forward / activation_backward.
namespace act {
struct relu {};
struct relu6 {};
struct silu {};
struct sigmoid {};
struct tanh {};
struct hardswish {};
struct hardsigmoid {};
}  // namespace act

namespace detail {

template <class Op, class List>
struct contains_op;
template <class Op, class... Ops>
struct contains_op<Op, kernel_ops<Ops...>> : std::bool_constant<(std::is_same_v<Op, Ops> || ...)> {
};

template <class A, class B>
struct union_ops;
template <class... A>
struct union_ops<kernel_ops<A...>, kernel_ops<>> {
  using type = kernel_ops<A...>;
};
template <class... A, class First, class... Rest>
struct union_ops<kernel_ops<A...>, kernel_ops<First, Rest...>>
    : union_ops<std::conditional_t<contains_op<First, kernel_ops<A...>>::value, kernel_ops<A...>,
                                   kernel_ops<A..., First>>,
                kernel_ops<Rest...>> {};

template <class Bound>
struct needs_of {
  using type = kernel_ops<>;
};
template <class Bound>
requires requires {
  typename Bound::needs;
}
struct needs_of<Bound> {
  using type = typename Bound::needs;
};

// The first family of Needs that Provides lacks, or void.
template <class Needs, class Provides>
struct first_missing {
  using type = void;
};
template <class First, class... Rest, class Provides>
struct first_missing<kernel_ops<First, Rest...>, Provides> {
  using type =
      std::conditional_t<contains_op<First, Provides>::value,
                         typename first_missing<kernel_ops<Rest...>, Provides>::type, First>;
};

}  // namespace detail

// The kernel families bound layer Bound needs; layers that declare none need only
// op::elementwise.
template <class Bound>
using needs_t = typename detail::needs_of<Bound>::type;

// The families the given bound layers need together (a container's needs).
template <class... Bounds>
struct needs_of_all {
  using type = kernel_ops<>;
};
template <class First, class... Rest>
struct needs_of_all<First, Rest...> {
  using type =
      typename detail::union_ops<needs_t<First>, typename needs_of_all<Rest...>::type>::type;
};
template <class... Bounds>
using needs_of_all_t = typename needs_of_all<Bounds...>::type;

// The first kernel family that Bound needs and Backend does not provide, or void.
template <class Bound, class Backend>
using missing_kernel_t =
    typename detail::first_missing<needs_t<Bound>, typename kernels<Backend>::provides>::type;

template <class Bound, class Backend>
concept RunsOn = std::is_void_v<missing_kernel_t<Bound, Backend>>;

}  // namespace strata
