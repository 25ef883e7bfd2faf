// The conformance harness's whole-model column on the GPU: test_backend_conformance_models.cpp
// compiled by nvcc, so that the CUDA backend runs on the device and the CPU backend is its
// reference.
#define DOCTEST_CONFIG_IMPLEMENT
#include "../test_backend_conformance_models.cpp"
#include "run_on_device.hpp"

int main(int argc, char** argv) {
  return strata::test::run_on_device(argc, argv);
}
