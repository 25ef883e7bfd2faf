// Model<Net, cuda> for EfficientNet-B0. B1..B7 are left out: a unit with four of them kept
// nvcc's front end (cudafe++) busy for more than 25 CPU minutes each without finishing, where
// B0 takes about a minute; they repeat B0's layers at other widths and input sizes.
#include <strata/strata.hpp>

#include "strata/backend/cuda/kernels.hpp"
#include "strata/models/efficientnet.hpp"

namespace st = strata;
namespace zoo = strata::models;

template class st::Model<zoo::EfficientNetB0<>, st::cuda>;
