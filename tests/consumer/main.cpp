// Downstream smoke test: the umbrella header compiles in a foreign project.
#include <strata/strata.hpp>

static_assert(strata::Shape<2, 3>::size == 6);

int main() {
  return 0;
}
