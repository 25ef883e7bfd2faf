// Must not compile: dropping 100% of the activations leaves nothing to scale.
#include <strata/strata.hpp>

namespace st = strata;

using Net = st::Sequential<st::InputFlat<16>, st::Linear<8>, st::Dropout<100>>;

int main() {
  return static_cast<int>(Net::parameter_count);
}
