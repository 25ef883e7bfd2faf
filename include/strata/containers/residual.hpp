// Residual<Body, Shortcut, Post>: y = Post(Body(x) + Shortcut(x)), the building block of ResNet.
// Shortcut defaults to Identity (no parameters, no work); a projection shortcut is any block,
// e.g. Sequential<Conv2d<C, 1, Stride<2>, NoBias>, BatchNorm2d<>>. Post is the activation after
// the addition (ReLU in ResNet; Identity by default) and has no parameters. Parameters: the
// body's, then the shortcut's under the prefix "downsample" (torchvision's name).
#pragma once

#include <algorithm>
#include <string>

#include "strata/core/layer.hpp"

namespace strata {

// The identity layer: the default shortcut, and a placeholder in Concat branches.
struct Identity : layer_spec {
  template <class In>
  struct bind : stateless_layer {
    using input_shape = In;
    using output_shape = In;
    static std::string describe() { return "Identity"; }
    template <class T, class B>
    static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
      kernels<B>::copy(ctx.exec, ctx.batch * In::size, x, y);
    }
    template <class T, class B>
    static void backward(const Ctx<T, B>& ctx, const T*, const T*, const T* dy, T* dx) {
      if (dx) kernels<B>::copy(ctx.exec, ctx.batch * In::size, dy, dx);
    }
  };
};

namespace detail {

// Instantiated only on a mismatch, so that the compiler prints both shapes.
template <class BodyOutput, class ShortcutOutput>
struct residual_shape_mismatch {
  static_assert(always_false<BodyOutput>,
                "Residual: the body and the shortcut must produce the same shape (see the two "
                "shapes above); use a projection shortcut, e.g. Conv2d<C, 1, Stride<s>> + BN");
  // Already reported above: true keeps the caller's check from repeating the error.
  static constexpr bool value = true;
};

template <class A, class B>
constexpr bool same_shape() {
  if constexpr (std::is_same_v<A, B>)
    return true;
  else
    return residual_shape_mismatch<A, B>::value;
}

template <class Body, class Shortcut, class Post, class In>
struct bound_residual {
  using body = typename Body::template bind<In>;
  using shortcut = typename Shortcut::template bind<In>;
  using post = typename Post::template bind<typename body::output_shape>;
  // Also true for a shortcut spec that binds to Identity for this input (ProjectionIfNeeded).
  static constexpr bool identity = std::is_same_v<shortcut, typename Identity::template bind<In>>;
  static constexpr bool has_post = !std::is_same_v<Post, Identity>;
  static_assert(same_shape<typename body::output_shape, typename shortcut::output_shape>());
  static_assert(auxiliary_sites_t<body>::size + auxiliary_sites_t<shortcut>::size == 0,
                "Residual: an AuxiliaryHead must be on the network's chain, not inside a block");
  static_assert(post::parameter_count == 0 && post::saved_per_sample == 0,
                "Residual: the activation after the addition must have no parameters or state");

  using input_shape = In;
  using output_shape = typename body::output_shape;
  using needs = needs_of_all_t<body, shortcut, post>;
  static constexpr std::size_t out_size = output_shape::size;

  static constexpr std::size_t parameter_count = body::parameter_count + shortcut::parameter_count;
  static constexpr std::size_t macs = body::macs + shortcut::macs;
  static constexpr auto params = [] {
    std::array<ParamSpec, body::params.size() + shortcut::params.size()> all{};
    std::size_t next = 0;
    for (ParamSpec spec : body::params) all[next++] = spec;
    for (ParamSpec spec : shortcut::params) {
      spec.name = spec.name.prefixed("downsample");
      all[next++] = spec;
    }
    return all;
  }();
  static constexpr auto buffers = [] {
    std::array<BufferSpec, body::buffers.size() + shortcut::buffers.size()> all{};
    std::size_t next = 0;
    for (BufferSpec spec : body::buffers) all[next++] = spec;
    for (BufferSpec spec : shortcut::buffers) {
      spec.name = spec.name.prefixed("downsample");
      all[next++] = spec;
    }
    return all;
  }();

  // Saved per sample: the body's output, the shortcut's output (unless identity), the sum
  // (when an activation follows it), then the children's own saved state.
  static constexpr std::size_t shortcut_out_size = identity ? 0 : out_size;
  static constexpr std::size_t sum_size = has_post ? out_size : 0;
  static constexpr std::size_t own_saved = out_size + shortcut_out_size + sum_size;
  static constexpr std::size_t saved_per_sample =
      own_saved + body::saved_per_sample + shortcut::saved_per_sample;
  // Scratch: the sum's gradient (with an activation), the shortcut's input gradient (added into
  // dx afterwards), then the children's.
  static constexpr std::size_t own_scratch = sum_size + (identity ? 0 : In::size);
  template <class B>
  static constexpr std::size_t scratch_size(std::size_t batch, std::size_t threads) {
    return own_scratch * batch + std::max({body::template scratch_size<B>(batch, threads),
                                           shortcut::template scratch_size<B>(batch, threads),
                                           post::template scratch_size<B>(batch, threads)});
  }

  static std::string describe() {
    return "Residual(" + body::describe() + (identity ? "" : " + " + shortcut::describe()) + ")" +
           (has_post ? ", " + post::describe() : "");
  }

  template <class T>
  static void init(T* params, T* buffer_data, Rng& rng) {
    body::init(params, buffer_data, rng);
    shortcut::init(params + body::parameter_count, buffer_data + buffer_count<body>(), rng);
  }

  template <class T, class B>
  static void forward(const Ctx<T, B>& ctx, const T* x, T* y) {
    T* body_out = ctx.saved;                            // [N, out]
    T* shortcut_out = body_out + out_size * ctx.batch;  // [N, out], unless identity
    body::forward(body_ctx(ctx), x, body_out);
    const T* skip = x;
    if constexpr (!identity) {
      shortcut::forward(shortcut_ctx(ctx), x, shortcut_out);
      skip = shortcut_out;
    }
    if constexpr (has_post) {
      T* sum = shortcut_out + shortcut_out_size * ctx.batch;  // [N, out]
      kernels<B>::add(ctx.exec, out_size * ctx.batch, body_out, skip, sum);
      post::forward(body_ctx(ctx), sum, y);
    } else {
      kernels<B>::add(ctx.exec, out_size * ctx.batch, body_out, skip, y);
    }
  }

  // The sum's gradient dy flows unchanged into both paths; their input gradients add up.
  template <class T, class B>
  static void backward(const Ctx<T, B>& ctx, const T* x, const T* y, const T* dy_out, T* dx) {
    const T* body_out = ctx.saved;
    const T* shortcut_out = body_out + out_size * ctx.batch;
    const T* dy = dy_out;  // the gradient of the sum
    if constexpr (has_post) {
      T* sum_grad = ctx.scratch;  // [N, out]
      post::backward(body_ctx(ctx), shortcut_out + shortcut_out_size * ctx.batch, y, dy_out,
                     sum_grad);
      dy = sum_grad;
    }
    body::backward(body_ctx(ctx), x, body_out, dy, dx);
    if constexpr (identity) {
      if (dx) kernels<B>::add(ctx.exec, In::size * ctx.batch, dx, dy, dx);
    } else {
      T* shortcut_dx = dx ? ctx.scratch + sum_size * ctx.batch : nullptr;  // [N, in]
      shortcut::backward(shortcut_ctx(ctx), x, shortcut_out, dy, shortcut_dx);
      if (dx) kernels<B>::add(ctx.exec, In::size * ctx.batch, dx, shortcut_dx, dx);
    }
  }

  template <class T, class B>
  static Ctx<T, B> body_ctx(const Ctx<T, B>& ctx) {
    return ctx.child(0, 0, own_saved, own_scratch);
  }
  template <class T, class B>
  static Ctx<T, B> shortcut_ctx(const Ctx<T, B>& ctx) {
    return ctx.child(body::parameter_count, buffer_count<body>(),
                     own_saved + body::saved_per_sample, own_scratch);
  }
};

}  // namespace detail

template <class Body, class Shortcut = Identity, class Post = Identity>
struct Residual : layer_spec {
  static_assert(LayerSpec<Body> && LayerSpec<Shortcut> && LayerSpec<Post>,
                "Residual<Body, Shortcut, Post>: all three must be strata layers or blocks");
  template <class In>
  using bind = detail::bound_residual<Body, Shortcut, Post, In>;
};

// Body with an identity skip connection when its output has the input's shape, and plain Body
// otherwise: MobileNetV2's InvertedResidual and EfficientNet's MBConv ("use_res_connect").
// Names are Body's either way, as torchvision's.
template <class Body>
struct ResidualIfSameShape : layer_spec {
  static_assert(LayerSpec<Body>, "ResidualIfSameShape<Body>: Body must be a strata layer or block");
  template <class In>
  using bind =
      std::conditional_t<std::is_same_v<typename Body::template bind<In>::output_shape, In>,
                         typename Residual<Body>::template bind<In>,
                         typename Body::template bind<In>>;
};

}  // namespace strata
