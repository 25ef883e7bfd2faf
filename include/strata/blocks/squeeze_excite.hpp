// Squeeze-and-excitation, channel attention built on Scale (containers/scale.hpp).
//   SqueezeExcite<Reduction, Activation = ReLU>: Scale of torchvision's SqueezeExcitation —
//     global average pool, 1x1 conv "fc1" to C / Reduction channels, Activation, 1x1 conv "fc2"
//     back to C, Sigmoid (SENet; EfficientNet uses SiLU and sizes the squeeze itself, see
//     SqueezeExciteTo).
//   SqueezeExciteTo<Squeeze, Activation, Gate = Sigmoid>: the same with an explicit squeeze width
//     and gate (MobileNetV3's is Hardsigmoid).
#pragma once

#include <algorithm>
#include <string>

#include "strata/containers/scale.hpp"
#include "strata/containers/sequential.hpp"
#include "strata/core/layer.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/pooling.hpp"

namespace strata {

namespace detail {

template <std::size_t Channels, std::size_t Squeeze, class Activation, class Gate = Sigmoid>
using excitation = Sequential<GlobalAvgPool, Named<"fc1", Conv2d<Squeeze, 1>>, Activation,
                              Named<"fc2", Conv2d<Channels, 1>>, Gate>;

}  // namespace detail

template <std::size_t Squeeze, class Activation = ReLU, class Gate = Sigmoid>
struct SqueezeExciteTo : layer_spec {
  static_assert(Squeeze > 0, "SqueezeExciteTo: the squeeze width must be positive");
  template <class In>
  using bind = detail::bound_scale<detail::excitation<In::dims[0], Squeeze, Activation, Gate>, In>;
};

template <std::size_t Reduction, class Activation = ReLU>
struct SqueezeExcite : layer_spec {
  static_assert(Reduction > 0, "SqueezeExcite: the reduction must be positive");
  template <class In>
  using bind = detail::bound_scale<
      detail::excitation<In::dims[0], std::max<std::size_t>(1, In::dims[0] / Reduction),
                         Activation>,
      In>;
};

}  // namespace strata
