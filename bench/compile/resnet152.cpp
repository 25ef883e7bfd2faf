// Compile-time benchmark: ResNet-152's training step.
#include <strata/models/resnet.hpp>

#include "training_step.hpp"

int main() {
  return training_step<strata::models::ResNet152<>>();
}
