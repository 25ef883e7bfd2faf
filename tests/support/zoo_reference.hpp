// The zoo's torchvision reference files (tests/zoo/<model>.txt, written by
// tests/zoo/make_zoo_reference.py): reading them, and checking a network's counts and every
// parameter and buffer name and shape against them. Shared by the zoo tests.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "golden.hpp"
#include "strata/core/layer.hpp"
#include "strata/runtime/model.hpp"

namespace strata::test {

struct ZooReference {
  std::size_t parameters = 0, macs = 0;
  std::vector<std::string> params, buffers;  // "name d0 d1 ..."
};

inline ZooReference read_reference(const std::string& model) {
  const auto path = golden_dir().parent_path() / "zoo" / (model + ".txt");
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot open " << path);
  ZooReference r;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind, rest;
    words >> kind;
    std::getline(words >> std::ws, rest);
    if (kind == "parameters") r.parameters = std::stoull(rest);
    if (kind == "macs") r.macs = std::stoull(rest);
    if (kind == "param") r.params.push_back(rest);
    if (kind == "buffer") r.buffers.push_back(rest);
  }
  return r;
}

template <std::size_t N>
std::vector<std::string> describe(const std::array<ParamSpec, N>& specs) {
  std::vector<std::string> out;
  for (const auto& spec : specs) {
    std::string text(spec.name.view());
    for (std::size_t i = 0; i < spec.rank; ++i) {
      text += ' ';
      text += std::to_string(spec.dims[i]);
    }
    out.push_back(text);
  }
  return out;
}

// in_order: the tensors come in torchvision's order too. GoogLeNet's auxiliary heads are the one
// exception: torchvision registers aux1/aux2 after inception5b, strata keeps network order.
template <class Net>
void check_against_torchvision(const std::string& model, bool in_order = true) {
  ZooReference r = read_reference(model);
  CHECK(Net::parameter_count == r.parameters);
  CHECK(Net::macs == r.macs);
  auto params = describe(Net::params), buffers = describe(Net::buffers);
  if (!in_order)
    for (auto* names : {&params, &buffers, &r.params, &r.buffers})
      std::sort(names->begin(), names->end());
  CHECK(params == r.params);
  CHECK(buffers == r.buffers);
}

// An eval-mode forward pass of Net on random images gives a finite logit for every class and
// sample: the whole type instantiates, binds and runs.
template <class Net>
void check_eval_forward_is_finite(std::size_t batch = 2) {
  strata::Model<Net> model{strata::seed{3}};
  model.eval();
  std::vector<float> x(batch * Net::input_shape::size);
  strata::Rng rng(11);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  const auto logits = model.forward(x);
  CHECK(logits.values().size() == batch * Net::output_shape::size);
  CHECK(std::all_of(logits.values().begin(), logits.values().end(),
                    [](float v) { return std::isfinite(v); }));
}

}  // namespace strata::test
