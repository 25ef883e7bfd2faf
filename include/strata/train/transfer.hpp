// Transfer learning: freeze and unfreeze parts of a model, give a network a new head at the type
// level, and carry every backbone tensor over by name.
//
//   using Source = st::models::ResNet50<1000>;
//   using Target = st::replace_head<Source, st::Named<"fc", st::Linear<3>>>;
//   st::Model<Source> pretrained;   // e.g. loaded with st::load_safetensors
//   st::Model<Target> model;
//   const st::CopyReport report = st::copy_matching(pretrained, model);  // all but fc.*
//   st::freeze(model, "");                                              // everything ...
//   st::unfreeze(model, "fc.");                                         // ... but the head
//   st::freeze_layers<0, 4>(model);                                     // or by layer index
//
// Parameter groups (a learning rate per part of the network) are in param_groups.hpp.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "strata/containers/sequential.hpp"
#include "strata/io/file.hpp"
#include "strata/runtime/model.hpp"
#include "strata/train/optim.hpp"
#include "strata/train/param_groups.hpp"

namespace strata {

namespace detail {

// Sets `trainable` on every parameter whose name starts with `prefix`; a prefix that matches
// nothing is a mistake (a typo would otherwise leave the model training as before).
inline std::size_t set_trainable(std::span<Parameter> params, std::string_view prefix, bool on,
                                 const char* caller) {
  std::size_t matched = 0;
  for (Parameter& p : params)
    if (p.name.starts_with(prefix)) {
      p.trainable = on;
      ++matched;
    }
  if (matched == 0)
    throw std::invalid_argument(std::string(caller) + ": no parameter name starts with '" +
                                std::string(prefix) + "'");
  return matched;
}

// Where each top-level layer's tensors start in Net::params (and so in Model::parameters()).
template <class Net>
constexpr auto layer_param_offsets() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return prefix_sums<Net::layer_count>({Net::template layer<I>::params.size()...});
  }
  (std::make_index_sequence<Net::layer_count>{});
}

// The values in the instantiation line above the message say which range was asked for.
template <std::size_t First, std::size_t Last, std::size_t LayerCount, std::size_t Tensors>
constexpr void check_layer_range() {
  static_assert(First < Last && Last <= LayerCount,
                "freeze_layers/unfreeze_layers<First, Last>: need First < Last <= the number of "
                "layers after Input (LayerCount)");
  static_assert(Tensors > 0 || !(First < Last && Last <= LayerCount),
                "freeze_layers/unfreeze_layers<First, Last>: layers [First, Last) have no "
                "parameters");
}

template <std::size_t First, std::size_t Last, class Net>
std::size_t set_layers_trainable(std::span<Parameter> params, bool on) {
  constexpr auto offsets = layer_param_offsets<Net>();
  constexpr std::size_t begin = offsets[std::min(First, Net::layer_count)];
  constexpr std::size_t end = offsets[std::min(Last, Net::layer_count)];
  check_layer_range<First, Last, Net::layer_count, (end > begin ? end - begin : 0)>();
  for (std::size_t i = begin; i < end; ++i) params[i].trainable = on;
  return end - begin;
}

}  // namespace detail

// By name prefix ("layer1." matches "layer1.0.conv1.weight"; "" matches every parameter).
// Return how many parameter tensors they set; throw std::invalid_argument if none matches.
template <class Net, class Backend>
std::size_t freeze(Model<Net, Backend>& model, std::string_view prefix) {
  return detail::set_trainable(model.parameters(), prefix, false, "freeze");
}
template <class Net, class Backend>
std::size_t unfreeze(Model<Net, Backend>& model, std::string_view prefix) {
  return detail::set_trainable(model.parameters(), prefix, true, "unfreeze");
}

// By top-level layer index: layers [First, Last) of Sequential<Input, layers...>, counted as
// Model::activation<I> counts them. A range outside the network, or one without parameters, does
// not compile. Return how many parameter tensors they set.
template <std::size_t First, std::size_t Last, class Net, class Backend>
std::size_t freeze_layers(Model<Net, Backend>& model) {
  return detail::set_layers_trainable<First, Last, Net>(model.parameters(), false);
}
template <std::size_t First, std::size_t Last, class Net, class Backend>
std::size_t unfreeze_layers(Model<Net, Backend>& model) {
  return detail::set_layers_trainable<First, Last, Net>(model.parameters(), true);
}

namespace detail {

template <class Net>
struct network_layers {
  static_assert(always_false<Net>,
                "replace_head/replace_last: the first argument must be a network, "
                "Sequential<Input<C, H, W>, layers...>");
  using input = Input<1, 1, 1>;
  using specs = std::tuple<>;
};
template <class In, class... Specs>
requires is_input_v<In>
struct network_layers<Sequential<In, Specs...>> {
  using input = In;
  using specs = std::tuple<Specs...>;
};

template <class In, class Specs, class Kept, class... Head>
struct rebuilt;
template <class In, class Specs, std::size_t... I, class... Head>
struct rebuilt<In, Specs, std::index_sequence<I...>, Head...> {
  using type = Sequential<In, std::tuple_element_t<I, Specs>..., Head...>;
};

template <class Net, std::size_t N, class... Head>
struct replace_last {
  using parts = network_layers<Net>;
  static constexpr std::size_t count = std::tuple_size_v<typename parts::specs>;
  static_assert(N >= 1 && N <= count,
                "replace_last<Net, N, Head...>: N must be between 1 and the number of layers "
                "after Input");
  static_assert(sizeof...(Head) > 0, "replace_last<Net, N, Head...>: give the new head's layers");
  using type =
      typename rebuilt<typename parts::input, typename parts::specs,
                       std::make_index_sequence<count - std::min(N, count)>, Head...>::type;
};

}  // namespace detail

// Net with its last N layers replaced by Head... (same input; the layers kept keep their specs
// and names, so their tensors carry over by name with copy_matching).
template <class Net, std::size_t N, class... Head>
using replace_last = typename detail::replace_last<Net, N, Head...>::type;

// Net with its last layer (the classifier) replaced by Head...
template <class Net, class... Head>
using replace_head = replace_last<Net, 1, Head...>;

// What copy_matching did, tensor by tensor (parameters and buffers alike).
struct CopyReport {
  std::vector<std::string> copied;  // the target's, copied from the source
  std::vector<std::string> kept;    // the target's, absent from the source: left as they were
  std::vector<std::string> shape_differs;  // in both, different shapes: left as they were
  std::vector<std::string> unused;         // the source's, absent from the target

  std::string str() const {
    std::string out = "copied " + std::to_string(copied.size()) + " tensors";
    const auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      out += "; " + std::string(what) + " (" + std::to_string(names.size()) + "):";
      for (const std::string& n : names) out += " " + n;
    };
    list("kept, not in the source", kept);
    list("kept, shape differs", shape_differs);
    list("unused from the source", unused);
    return out;
  }
};

// Copies every parameter and buffer (BatchNorm's running statistics) of `source` into the
// tensor of `target` with the same name and shape, and reports every tensor it did not copy.
// Throws std::invalid_argument when nothing matches: the networks share no layer names. The two
// models may run on different backends.
template <class SourceNet, class SourceBackend, class TargetNet, class TargetBackend>
CopyReport copy_matching(Model<SourceNet, SourceBackend>& source,
                         Model<TargetNet, TargetBackend>& target) {
  const detail::io::HostTensors source_host(source);
  detail::io::HostTensors target_host(target);
  const std::vector<detail::io::TensorRef>& from = source_host.refs();
  std::unordered_map<std::string_view, const detail::io::TensorRef*> by_name;
  for (const detail::io::TensorRef& t : from) by_name.emplace(t.name, &t);
  CopyReport report;
  for (const detail::io::TensorRef& t : target_host.refs()) {
    const auto found = by_name.find(t.name);
    if (found == by_name.end() || found->second->buffer != t.buffer) {
      report.kept.emplace_back(t.name);
      continue;
    }
    const detail::io::TensorRef& s = *found->second;
    by_name.erase(found);
    if (s.rank != t.rank || s.dims != t.dims) {
      report.shape_differs.emplace_back(t.name);
      continue;
    }
    std::copy_n(s.value, s.size, t.value);
    report.copied.emplace_back(t.name);
  }
  for (const detail::io::TensorRef& s : from)
    if (by_name.contains(s.name)) report.unused.emplace_back(s.name);
  if (report.copied.empty())
    throw std::invalid_argument(
        "copy_matching: no tensor of the source has a name and shape in "
        "the target (" +
        report.str() + ")");
  target_host.commit();
  return report;
}

}  // namespace strata
