// Must not compile: int is not a layer.
#include <strata/strata.hpp>

namespace st = strata;

using Net = st::Sequential<st::Input<1, 8, 8>, st::ReLU, int>;

int main() {
  return static_cast<int>(Net::parameter_count);
}
