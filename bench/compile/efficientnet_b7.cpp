// Compile-time benchmark: EfficientNet-B7's training step.
#include <strata/models/efficientnet.hpp>

#include "training_step.hpp"

int main() {
  return training_step<strata::models::EfficientNetB7<>>();
}
