// strata: a header-only C++20 deep-learning engine in which a network is a type.
#pragma once

#include "strata/activation.hpp"
#include "strata/conv2d.hpp"
#include "strata/dropout.hpp"
#include "strata/flatten.hpp"
#include "strata/layer.hpp"
#include "strata/linear.hpp"
#include "strata/loss.hpp"
#include "strata/model.hpp"
#include "strata/optim.hpp"
#include "strata/options.hpp"
#include "strata/pooling.hpp"
#include "strata/sequential.hpp"
#include "strata/shape.hpp"
#include "strata/summary.hpp"
