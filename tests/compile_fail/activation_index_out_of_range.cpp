// Must not compile: the network has 2 layers, so there is no activation<2>.
#include <strata/strata.hpp>

namespace st = strata;

using Net = st::Sequential<st::InputFlat<4>, st::Linear<3>, st::ReLU>;

int main() {
  st::Model<Net> model;
  return static_cast<int>(model.activation<2>().size());
}
