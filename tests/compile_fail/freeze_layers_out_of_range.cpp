// Must not compile: the network has 3 layers after Input, so there is no layer range [1, 4).
#include <strata/strata.hpp>
#include <strata/train/transfer.hpp>

namespace st = strata;

using Net = st::Sequential<st::InputFlat<4>, st::Linear<3>, st::ReLU, st::Linear<2>>;

int main() {
  st::Model<Net> model;
  return static_cast<int>(st::freeze_layers<1, 4>(model));
}
