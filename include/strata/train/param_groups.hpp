// Parameter groups: parts of a model trained with their own learning rate and weight decay, as
// PyTorch's optimizer param_groups.
//
//   st::SGD opt{st::groups(model, {{.prefix = "fc.", .lr = 1e-2f},
//                                  {.prefix = "", .lr = 1e-3f, .weight_decay = 0.f}}),
//               {.lr = 1e-3f, .momentum = 0.9f, .weight_decay = 5e-4f}};
//
// Every parameter belongs to exactly one group: the first whose name prefix it starts with. A
// group takes the optimizer's options, with `lr` and `weight_decay` replaced where it gives
// them. The optimizer still holds every parameter of the model in the model's order (so that
// checkpoints work unchanged); freezing stays a matter of `Parameter::trainable`.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "strata/runtime/model.hpp"

namespace strata {

struct GroupSpec {
  std::string_view prefix{};  // "" matches every parameter
  std::optional<float> lr{};
  std::optional<float> weight_decay{};
};

// Which group each parameter is in, and what each group overrides; the parameters live on
// Backend.
template <class Backend = default_backend>
struct ParamGroups {
  Parameters<Backend> params;
  std::vector<GroupSpec> specs;
  std::vector<std::size_t> group_of;  // one entry per parameter, an index into specs
};

// A parameter matched by no group, or a group that matches no parameter (a misspelt prefix, or
// one shadowed by an earlier group), is an error: both would otherwise silently train with the
// wrong settings.
template <class Backend>
ParamGroups<Backend> groups(Parameters<Backend> params, std::vector<GroupSpec> specs) {
  if (specs.empty()) throw std::invalid_argument("groups: give at least one GroupSpec");
  ParamGroups<Backend> out{params, std::move(specs), {}};
  std::vector<std::size_t> members(out.specs.size(), 0);
  for (const Parameter& p : params) {
    std::size_t g = 0;
    while (g < out.specs.size() && !p.name.starts_with(out.specs[g].prefix)) ++g;
    if (g == out.specs.size())
      throw std::invalid_argument("groups: parameter '" + std::string(p.name) +
                                  "' matches no group's prefix; end the list with "
                                  "{.prefix = \"\"} to catch the rest");
    out.group_of.push_back(g);
    ++members[g];
  }
  for (std::size_t g = 0; g < out.specs.size(); ++g)
    if (members[g] == 0)
      throw std::invalid_argument("groups: group " + std::to_string(g) + " (prefix '" +
                                  std::string(out.specs[g].prefix) +
                                  "') has no parameter: no name starts with it, or an earlier "
                                  "group took them all");
  return out;
}

// Parameters given as a plain span are the default backend's.
inline ParamGroups<> groups(std::span<Parameter> params, std::vector<GroupSpec> specs) {
  return groups(Parameters<default_backend>{params}, std::move(specs));
}

template <class Net, class Backend>
ParamGroups<Backend> groups(Model<Net, Backend>& model, std::vector<GroupSpec> specs) {
  return groups(model.parameters(), std::move(specs));
}

namespace detail {

// The options of each group of an optimizer, and the group of each parameter. An optimizer
// built from a plain parameter span has one group.
template <class Options>
class GroupOptions {
 public:
  GroupOptions(std::span<Parameter> params, Options options)
      : options_{options}, group_of_(params.size(), 0) {}
  template <class Backend>
  GroupOptions(const ParamGroups<Backend>& groups, Options base) : group_of_(groups.group_of) {
    for (const GroupSpec& spec : groups.specs) {
      Options o = base;
      if (spec.lr) o.lr = *spec.lr;
      if (spec.weight_decay) o.weight_decay = *spec.weight_decay;
      options_.push_back(o);
    }
  }

  // The single group's options; an optimizer with several groups has no one set to return.
  Options& only(const char* optimizer) {
    if (options_.size() != 1)
      throw std::logic_error(std::string(optimizer) + "::options(): the optimizer has " +
                             std::to_string(options_.size()) + " parameter groups; use group(i)");
    return options_.front();
  }
  Options& group(std::size_t g) { return options_.at(g); }
  std::size_t count() const { return options_.size(); }
  const Options& of_parameter(std::size_t index) const { return options_[group_of_[index]]; }

 private:
  std::vector<Options> options_;
  std::vector<std::size_t> group_of_;
};

}  // namespace detail

}  // namespace strata
