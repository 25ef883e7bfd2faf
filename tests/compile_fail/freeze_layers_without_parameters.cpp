// Must not compile: layer 1 is a ReLU, so freezing layers [1, 2) would freeze nothing.
#include <strata/strata.hpp>
#include <strata/train/transfer.hpp>

namespace st = strata;

using Net = st::Sequential<st::InputFlat<4>, st::Linear<3>, st::ReLU, st::Linear<2>>;

int main() {
  st::Model<Net> model;
  return static_cast<int>(st::freeze_layers<1, 2>(model));
}
