// Must not compile: a 5x5 kernel on a 4x4 input without padding.
#include <strata/strata.hpp>

namespace st = strata;

using Net = st::Sequential<st::Input<1, 4, 4>, st::Conv2d<8, 5>>;

int main() {
  return static_cast<int>(Net::parameter_count);
}
