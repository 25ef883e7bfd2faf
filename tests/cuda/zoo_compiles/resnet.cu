// Model<Net, cuda> for every ResNet, ResNeXt-50 32x4d, Wide ResNet-50-2, SE-ResNet-50,
// MobileNetV2 and MobileNetV3.
#include <strata/strata.hpp>

#include "strata/backend/cuda/kernels.hpp"
#include "strata/models/mobilenet_v2.hpp"
#include "strata/models/mobilenet_v3.hpp"
#include "strata/models/resnet.hpp"

namespace st = strata;
namespace zoo = strata::models;

template class st::Model<zoo::ResNet18<>, st::cuda>;
template class st::Model<zoo::ResNet34<>, st::cuda>;
template class st::Model<zoo::ResNet50<>, st::cuda>;
template class st::Model<zoo::ResNet101<>, st::cuda>;
template class st::Model<zoo::ResNet152<>, st::cuda>;
template class st::Model<zoo::ResNeXt50_32x4d<>, st::cuda>;
template class st::Model<zoo::WideResNet50_2<>, st::cuda>;
template class st::Model<zoo::SEResNet50<>, st::cuda>;
template class st::Model<zoo::MobileNetV2<>, st::cuda>;
template class st::Model<zoo::MobileNetV3Large<>, st::cuda>;
template class st::Model<zoo::MobileNetV3Small<>, st::cuda>;
