// classify_image built by nvcc, with --device cuda (STRATA_EXAMPLES_CUDA, set by CMake).
#include "../classify_image.cpp"
