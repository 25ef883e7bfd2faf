// Must not compile: a convolution after Flatten, whose output is no longer an image.
#include <strata/strata.hpp>

namespace st = strata;

using Net = st::Sequential<st::Input<3, 8, 8>, st::Flatten, st::Conv2d<4, 3>>;

int main() {
  return static_cast<int>(Net::parameter_count);
}
