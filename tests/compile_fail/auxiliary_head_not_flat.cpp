// An auxiliary head must end in logits: this one stops at a feature map.
#include <strata/containers/auxiliary.hpp>
#include <strata/strata.hpp>

namespace st = strata;
using Net = st::Sequential<st::Input<3, 8, 8>, st::Conv2d<4, 3, st::Pad<1>>,
                           st::AuxiliaryHead<st::Sequential<st::Conv2d<2, 1>, st::MaxPool2d<2>>>,
                           st::Flatten, st::Linear<10>>;

static_assert(Net::parameter_count > 0);
