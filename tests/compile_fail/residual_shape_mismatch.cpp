// A strided body needs a projection shortcut: the identity cannot match its output.
#include <strata/containers/residual.hpp>
#include <strata/strata.hpp>

namespace st = strata;
using Net =
    st::Sequential<st::Input<8, 16, 16>,
                   st::Residual<st::Sequential<st::Conv2d<16, 3, st::Stride<2>, st::Pad<1>>>>>;

static_assert(Net::parameter_count > 0);
