// Must not compile: Model needs a network type, not an arbitrary type.
#include <strata/strata.hpp>

int main() {
  strata::Model<int> model;
  return static_cast<int>(model.batch());
}
