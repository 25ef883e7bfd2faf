// Must not compile: without Input<C, H, W> a Sequential is a block with no input shape, not a
// network that a Model can own.
#include <strata/strata.hpp>

namespace st = strata;

using Block = st::Sequential<st::Conv2d<8, 3>, st::ReLU>;

int main() {
  st::Model<Block> model;
  return static_cast<int>(model.batch());
}
