// Inception branches must keep the spatial size: branch 2 halves it.
#include <strata/containers/concat.hpp>
#include <strata/strata.hpp>

namespace st = strata;
using Net =
    st::Sequential<st::Input<8, 28, 28>,
                   st::Concat<st::Conv2d<4, 1>, st::MaxPool2d<2>, st::Conv2d<4, 3, st::Pad<1>>>>;

static_assert(Net::parameter_count > 0);
