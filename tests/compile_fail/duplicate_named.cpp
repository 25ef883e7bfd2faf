// Two children of one Sequential named alike would give two tensors one name ("conv.weight"):
// PyTorch cannot build such a module, and a saved file could not be loaded.
#include <strata/strata.hpp>

namespace st = strata;
using Net = st::Sequential<st::Input<1, 8, 8>, st::Named<"conv", st::Conv2d<2, 3>>, st::ReLU,
                           st::Named<"conv", st::Conv2d<2, 3>>>;

int main() {
  st::Model<Net> model;
  return static_cast<int>(model.parameter_count);
}
