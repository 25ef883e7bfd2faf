// The backend that Model<Net> runs on when none is named: the CPU's, which needs no toolkit.
#pragma once

#include "strata/backend/cpu/kernels.hpp"

namespace strata {

using default_backend = cpu;

}  // namespace strata
