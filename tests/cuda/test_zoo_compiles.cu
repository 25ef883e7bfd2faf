// Compile-only: Model<Net, cuda> built by nvcc for one model of each zoo family (with the
// auxiliary heads where a family has them). Explicit instantiation compiles every member
// (forward, backward, the staging functions) and with them every layer's kernels at the model's
// shapes, on the device; running them is the GPU tests' part. The whole zoo (32 models) took
// nvcc more than 14 minutes on CI's 2 cores, so the deeper and wider variants (VGG13-19,
// ResNet34/101/152, EfficientNet-B1..B7), which repeat these families' layers at other widths,
// are left out.
#include <strata/strata.hpp>

#include "strata/backend/cuda/kernels.hpp"
#include "strata/models/alexnet.hpp"
#include "strata/models/efficientnet.hpp"
#include "strata/models/googlenet.hpp"
#include "strata/models/inception_v3.hpp"
#include "strata/models/lenet.hpp"
#include "strata/models/mobilenet_v2.hpp"
#include "strata/models/resnet.hpp"
#include "strata/models/simple_cnn.hpp"
#include "strata/models/vgg.hpp"
#include "strata/models/zfnet.hpp"

namespace st = strata;
namespace zoo = strata::models;

template class st::Model<zoo::SimpleCNN<>, st::cuda>;
template class st::Model<zoo::LeNet5<>, st::cuda>;
template class st::Model<zoo::AlexNetPaper<>, st::cuda>;
template class st::Model<zoo::ZFNet<>, st::cuda>;
template class st::Model<zoo::VGG11BN<>, st::cuda>;
template class st::Model<zoo::GoogLeNet<1000, st::Input<3, 224, 224>, true>, st::cuda>;
template class st::Model<zoo::InceptionV3<1000, st::Input<3, 299, 299>, true>, st::cuda>;
template class st::Model<zoo::ResNet18<>, st::cuda>;
template class st::Model<zoo::ResNet50<>, st::cuda>;
template class st::Model<zoo::SEResNet50<>, st::cuda>;
template class st::Model<zoo::MobileNetV2<>, st::cuda>;
template class st::Model<zoo::EfficientNetB0<>, st::cuda>;

int main() {
  return 0;
}
