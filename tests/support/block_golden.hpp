// check_block_golden<B, T>: runs a bound block in training mode against a golden file written
// by tests/golden/make_golden.py from the same PyTorch module, in T (double or float).
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include <strata/strata.hpp>

#include "conformance.hpp"
#include "golden.hpp"

namespace strata::test {

// Runs block B in training mode on a golden file written from the same PyTorch module: every
// parameter and buffer is looked up by B's own (state_dict) name, so the names are checked too.
template <class B, class T>
void check_block_golden(std::string_view case_name, double rel, double abs) {
  const Golden g(golden_dir() / (std::string(case_name) + ".txt"));
  const auto& x_golden = g.tensor("x");
  const std::size_t batch = x_golden.shape[0];
  const auto fill = [&](std::vector<T>& to, const auto& specs, std::string_view suffix) {
    for (const auto& spec : specs) {
      const auto& t = g.tensor(std::string(spec.name.view()) + std::string(suffix));
      REQUIRE(t.size() == spec.size());
      to.insert(to.end(), t.values.begin(), t.values.end());
    }
  };
  std::vector<T> params, buffers, expected_grads, expected_buffers;
  fill(params, B::params, "");
  fill(buffers, B::buffers, "");
  const auto grad_names = [&] {
    std::vector<std::string> names;
    for (const auto& spec : B::params) names.push_back("grad." + std::string(spec.name.view()));
    return names;
  }();
  for (const auto& name : grad_names) {
    const auto& t = g.tensor(name);
    expected_grads.insert(expected_grads.end(), t.values.begin(), t.values.end());
  }
  fill(expected_buffers, B::buffers, "_after");

  const std::vector<T> x(x_golden.values.begin(), x_golden.values.end());
  const auto& dy_golden = g.tensor("dy");
  const std::vector<T> dy(dy_golden.values.begin(), dy_golden.values.end());
  std::vector<T> y(batch * B::output_shape::size), dx(x.size()), grads(B::parameter_count),
      saved(batch * B::saved_per_sample), scratch(B::template scratch_size<cpu>(batch, 2));
  Rng rng(1);
  const auto ctx = make_context<cpu>(LayerMemory<T>{.params = params.data(),
                                                    .grads = grads.data(),
                                                    .saved = saved.data(),
                                                    .scratch = scratch.data(),
                                                    .buffers = buffers.data()},
                                     batch, {.threads = 2}, true, &rng);
  B::forward(ctx, x.data(), y.data());
  B::backward(ctx, x.data(), y.data(), dy.data(), dx.data());

  const Tolerance tol{rel, abs};
  CAPTURE(case_name);
  STRATA_CHECK_CLOSE("y", widen(y), g.tensor("y").values, tol);
  STRATA_CHECK_CLOSE("dx", widen(dx), g.tensor("dx").values, tol);
  STRATA_CHECK_CLOSE("parameter gradients", widen(grads), widen(expected_grads), tol);
  STRATA_CHECK_CLOSE("running statistics", widen(buffers), widen(expected_buffers), tol);
}

}  // namespace strata::test
