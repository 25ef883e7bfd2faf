// Model<Net, cuda> for the plain stacks: SimpleCNN, LeNet-5, AlexNet, ZFNet and every VGG; and
// DenseNet-121 and -169.
#include <strata/strata.hpp>

#include "strata/backend/cuda/kernels.hpp"
#include "strata/models/alexnet.hpp"
#include "strata/models/densenet.hpp"
#include "strata/models/lenet.hpp"
#include "strata/models/simple_cnn.hpp"
#include "strata/models/vgg.hpp"
#include "strata/models/zfnet.hpp"

namespace st = strata;
namespace zoo = strata::models;

template class st::Model<zoo::SimpleCNN<>, st::cuda>;
template class st::Model<zoo::LeNet5<>, st::cuda>;
template class st::Model<zoo::AlexNet<>, st::cuda>;
template class st::Model<zoo::AlexNetPaper<>, st::cuda>;
template class st::Model<zoo::ZFNet<>, st::cuda>;
template class st::Model<zoo::VGG11<>, st::cuda>;
template class st::Model<zoo::VGG13<>, st::cuda>;
template class st::Model<zoo::VGG16<>, st::cuda>;
template class st::Model<zoo::VGG19<>, st::cuda>;
template class st::Model<zoo::VGG11BN<>, st::cuda>;
template class st::Model<zoo::VGG13BN<>, st::cuda>;
template class st::Model<zoo::VGG16BN<>, st::cuda>;
template class st::Model<zoo::VGG19BN<>, st::cuda>;
template class st::Model<zoo::DenseNet121<>, st::cuda>;
template class st::Model<zoo::DenseNet169<>, st::cuda>;
