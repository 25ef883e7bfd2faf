// Must not compile: a 4x4 pooling window on a 3x3 input.
#include <strata/strata.hpp>

namespace st = strata;

using Net = st::Sequential<st::Input<2, 3, 3>, st::MaxPool2d<4>>;

int main() {
  return static_cast<int>(Net::parameter_count);
}
