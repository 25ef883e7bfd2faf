// Compile-time benchmark: GoogLeNet's training step.
#include <strata/models/googlenet.hpp>

#include "training_step.hpp"

int main() {
  return training_step<strata::models::GoogLeNet<>>();
}
