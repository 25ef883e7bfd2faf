// transfer_learning built by nvcc, with --device cuda (STRATA_EXAMPLES_CUDA, set by CMake).
#include "../transfer_learning.cpp"
