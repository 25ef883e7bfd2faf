// Must not compile: a network with LocalResponseNorm on a backend that implements every kernel
// family but op::lrn. The error must name the layer, the backend and the missing family.
#include <strata/strata.hpp>

namespace st = strata;

// A backend that borrows the CPU's kernels and leaves LRN out, as a backend in progress would.
struct partial_backend {};

template <>
struct strata::kernels<partial_backend> : strata::kernels<strata::cpu> {
  using provides = kernel_ops<op::elementwise, op::conv2d, op::max_pool>;
};

using Net = st::Sequential<st::Input<3, 8, 8>, st::Conv2d<4, 3>, st::ReLU, st::LocalResponseNorm<3>,
                           st::MaxPool2d<2>>;

int main() {
  st::Model<Net, partial_backend> model;
  return static_cast<int>(model.batch());
}
