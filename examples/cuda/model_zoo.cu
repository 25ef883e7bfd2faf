// model_zoo built by nvcc, with --device cuda (STRATA_EXAMPLES_CUDA, set by CMake).
#include "../model_zoo.cpp"
