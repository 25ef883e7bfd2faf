// The allocation counter of test_backend_conformance_gpu, compiled by the host compiler: nvcc
// refuses replacements of the allocation functions (it declares them host-and-device), so the
// .cu file includes allocation_counter.hpp's declarations only.
#include "allocation_counter.hpp"
