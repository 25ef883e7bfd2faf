// Pooling after Flatten: one error, at AdaptiveAvgPool2d; the Linear after it, which gets the
// flat input it expects, adds none.
#include <strata/strata.hpp>

namespace st = strata;
using Net =
    st::Sequential<st::Input<8, 4, 4>, st::Flatten, st::AdaptiveAvgPool2d<1>, st::Linear<10>>;

int main() {
  return static_cast<int>(Net::parameter_count);
}
