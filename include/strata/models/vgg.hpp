// VGG-11/13/16/19, with and without batch normalisation, as torchvision builds them (configs
// A, B, D, E): same layers, same parameter names (features.N, classifier.N), same parameter
// counts and multiply-accumulates (checked at compile time in tests/test_zoo_classic.cpp).
//   using Net = st::models::VGG16<1000>;                        // 3x224x224 input
//   using Small = st::models::VGG11BN<10, st::Input<3, 32, 32>>;
#pragma once

#include <cstddef>
#include <type_traits>

#include "strata/containers/sequential.hpp"
#include "strata/core/named.hpp"
#include "strata/layers/activation.hpp"
#include "strata/layers/batchnorm.hpp"
#include "strata/layers/conv2d.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/flatten.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

namespace strata::models {

namespace detail {

// torchvision's configuration lists, with 0 for its "M" (2x2 max-pooling). The features are
// expanded from the list into one flat Sequential, because torchvision's state_dict numbers
// every conv, BatchNorm, ReLU and pool of `features` in a single sequence.
inline constexpr std::size_t vgg_pool = 0;

template <class... Layers>
struct layer_list {};

template <class... Lists>
struct join_layers;
template <class... Layers>
struct join_layers<layer_list<Layers...>> {
  using type = layer_list<Layers...>;
};
template <class... A, class... B, class... Rest>
struct join_layers<layer_list<A...>, layer_list<B...>, Rest...>
    : join_layers<layer_list<A..., B...>, Rest...> {};

template <bool BatchNorm, std::size_t Channels>
struct vgg_step {
  using type =
      std::conditional_t<BatchNorm, layer_list<Conv2d<Channels, 3, Pad<1>>, BatchNorm2d<>, ReLU>,
                         layer_list<Conv2d<Channels, 3, Pad<1>>, ReLU>>;
};
template <bool BatchNorm>
struct vgg_step<BatchNorm, vgg_pool> {
  using type = layer_list<MaxPool2d<2>>;
};

template <class List>
struct as_sequential;
template <class... Layers>
struct as_sequential<layer_list<Layers...>> {
  using type = Sequential<Layers...>;
};

template <bool BatchNorm, std::size_t... Config>
using vgg_features = typename as_sequential<
    typename join_layers<typename vgg_step<BatchNorm, Config>::type...>::type>::type;

// The adaptive pooling to 7x7 lets inputs other than 224x224 reach the same classifier (a
// 32x32 input gives 1x1 features, replicated to 7x7 as in PyTorch).
template <class Features, std::size_t Classes, class In>
using VGG =
    Sequential<In, Named<"features", Features>, Named<"avgpool", AdaptiveAvgPool2d<7>>, Flatten,
               Named<"classifier", Sequential<Linear<4096>, ReLU, Dropout<50>,  //
                                              Linear<4096>, ReLU, Dropout<50>,  //
                                              Linear<Classes>>>>;

template <bool BatchNorm>
using vgg_a = vgg_features<BatchNorm, 64, vgg_pool, 128, vgg_pool, 256, 256, vgg_pool, 512, 512,
                           vgg_pool, 512, 512, vgg_pool>;
template <bool BatchNorm>
using vgg_b = vgg_features<BatchNorm, 64, 64, vgg_pool, 128, 128, vgg_pool, 256, 256, vgg_pool, 512,
                           512, vgg_pool, 512, 512, vgg_pool>;
template <bool BatchNorm>
using vgg_d = vgg_features<BatchNorm, 64, 64, vgg_pool, 128, 128, vgg_pool, 256, 256, 256, vgg_pool,
                           512, 512, 512, vgg_pool, 512, 512, 512, vgg_pool>;
template <bool BatchNorm>
using vgg_e = vgg_features<BatchNorm, 64, 64, vgg_pool, 128, 128, vgg_pool, 256, 256, 256, 256,
                           vgg_pool, 512, 512, 512, 512, vgg_pool, 512, 512, 512, 512, vgg_pool>;

}  // namespace detail

template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using VGG11 = detail::VGG<detail::vgg_a<false>, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using VGG13 = detail::VGG<detail::vgg_b<false>, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using VGG16 = detail::VGG<detail::vgg_d<false>, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using VGG19 = detail::VGG<detail::vgg_e<false>, Classes, In>;

template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using VGG11BN = detail::VGG<detail::vgg_a<true>, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using VGG13BN = detail::VGG<detail::vgg_b<true>, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using VGG16BN = detail::VGG<detail::vgg_d<true>, Classes, In>;
template <std::size_t Classes = 1000, class In = Input<3, 224, 224>>
using VGG19BN = detail::VGG<detail::vgg_e<true>, Classes, In>;

}  // namespace strata::models
