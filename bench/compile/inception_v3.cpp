// Compile-time benchmark: Inception-v3's training step, with its auxiliary classifier.
#include <strata/models/inception_v3.hpp>

#include "training_step.hpp"

int main() {
  return training_step<strata::models::InceptionV3<1000, strata::Input<3, 299, 299>, true>>();
}
