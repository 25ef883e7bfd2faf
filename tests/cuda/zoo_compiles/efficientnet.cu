// Model<Net, cuda> for EfficientNet-B0 and EfficientNet-Lite0. B1..B7 and Lite1..4 are left
// out: a unit with four of B1..B7 kept nvcc's front end (cudafe++) busy for more than 25 CPU
// minutes each without finishing, where B0 takes about a minute; they repeat B0's (and Lite0's)
// layers at other widths and input sizes.
#include <strata/strata.hpp>

#include "strata/backend/cuda/kernels.hpp"
#include "strata/models/efficientnet.hpp"
#include "strata/models/efficientnet_lite.hpp"

namespace st = strata;
namespace zoo = strata::models;

template class st::Model<zoo::EfficientNetB0<>, st::cuda>;
template class st::Model<zoo::EfficientNetLite0<>, st::cuda>;
