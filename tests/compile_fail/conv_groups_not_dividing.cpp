// Must not compile: 2 groups cannot split 3 input channels.
#include <strata/strata.hpp>

namespace st = strata;

using Net = st::Sequential<st::Input<3, 8, 8>, st::Conv2d<6, 3, st::Groups<2>>>;

int main() {
  return static_cast<int>(Net::parameter_count);
}
