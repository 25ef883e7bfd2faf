// Model<Net, cuda> for GoogLeNet and Inception-v3, each with its auxiliary heads.
#include <strata/strata.hpp>

#include "strata/backend/cuda/kernels.hpp"
#include "strata/models/googlenet.hpp"
#include "strata/models/inception_v3.hpp"

namespace st = strata;
namespace zoo = strata::models;

template class st::Model<zoo::GoogLeNet<1000, st::Input<3, 224, 224>, true>, st::cuda>;
template class st::Model<zoo::InceptionV3<1000, st::Input<3, 299, 299>, true>, st::cuda>;
