// resnet_fashion_mnist built by nvcc, with --device cuda (STRATA_EXAMPLES_CUDA, set by CMake).
#include "../resnet_fashion_mnist.cpp"
