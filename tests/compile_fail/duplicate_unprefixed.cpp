// Unprefixed children keep their own tensor names, so two of the same kind side by side both
// have "weight" and "bias".
#include <strata/strata.hpp>

namespace st = strata;
using Net = st::Sequential<st::Input<1, 8, 8>, st::Unprefixed<st::Conv2d<2, 3>>,
                           st::Unprefixed<st::Conv2d<2, 3>>>;

int main() {
  st::Model<Net> model;
  return static_cast<int>(model.parameter_count);
}
