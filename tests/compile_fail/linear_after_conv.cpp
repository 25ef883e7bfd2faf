// Must not compile: Linear straight after a convolution, without Flatten.
#include <strata/strata.hpp>

namespace st = strata;

using Net = st::Sequential<st::Input<1, 7, 7>, st::Conv2d<64, 3, st::Pad<1>>, st::Linear<10>>;

int main() {
  return static_cast<int>(Net::parameter_count);
}
