// The generic layer conformance harness (DESIGN.md section 6): every bound layer, and every
// block, goes through the same checks, so that adding a layer means adding a line to
// tests/test_layers.cpp, not writing test logic.
//
//   check_layer<B>(expected, reference, options)
//     (e) output shape, parameter_count and macs against the values the test states, and the
//         shape and parameter count the naive reference derives on its own;
//     (c) forward in double against a naive loop reference (ref::conv, ref::max_pool, ...);
//     (a) backward in double against central finite differences of sum(y * dy), for every
//         input and parameter element (an evenly spread sample of large tensors); forward and
//         backward with 2 threads against 1; parameter gradients with dx == nullptr;
//     (b) forward and backward in float against double on the same (float-representable) data.
//   check_golden<B>(case_name)
//     (d) PyTorch's values from tests/golden/<case>.txt, in float and in double.
//
// Layers with buffers (BatchNorm's running statistics) start from the layer's own init, or
// from CheckOptions::buffers / the golden file's <buffer> tensors; the buffers after a forward
// are compared across threads and precisions, and against the golden file's <buffer>_after.
//
// Only the thin ops_of<B, T>() adaptor is instantiated per layer type; everything else works
// on type-erased function pointers, so that a long list of layers keeps the translation unit
// quick to compile.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "golden.hpp"
#include "strata/backend/cpu/kernels.hpp"
#include "strata/core/layer.hpp"
#include "strata/runtime/context.hpp"

namespace strata::test {

using Dims = std::vector<std::size_t>;

inline std::size_t product(const Dims& dims) {
  return std::accumulate(dims.begin(), dims.end(), std::size_t{1}, std::multiplies<>{});
}

inline std::string to_string(const Dims& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) text += ',';
    text += std::to_string(dims[i]);
  }
  return text + "]";
}

// ---------------------------------------------------------------------------------------------
// Naive references: direct loops written from PyTorch's definitions, sharing no code with the
// library, type-erased so that they compose (ref::chain) and compile once.
// ---------------------------------------------------------------------------------------------
namespace ref {

struct Reference {
  std::string name;
  std::function<Dims(const Dims& in)> output_dims;
  std::function<std::size_t(const Dims& in)> parameter_count;
  // y [batch, out...] from x [batch, in...] and the parameters in PyTorch's order and layout.
  std::function<std::vector<double>(const Dims& in, std::size_t batch, const double* x,
                                    const double* params)>
      forward;

  bool empty() const { return !forward; }
};

// No reference: for layers whose output is not a function of x alone (Dropout in training).
inline Reference none() {
  return {};
}

struct ConvOptions {
  std::size_t out = 1, kh = 1, kw = 1;
  std::size_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
  bool bias = true;
};

inline Reference conv(ConvOptions o) {
  auto out_dims = [o](const Dims& in) -> Dims {
    return {o.out, (in[1] + 2 * o.ph - o.dh * (o.kh - 1) - 1) / o.sh + 1,
            (in[2] + 2 * o.pw - o.dw * (o.kw - 1) - 1) / o.sw + 1};
  };
  auto count = [o](const Dims& in) {
    return o.out * (in[0] / o.groups) * o.kh * o.kw + (o.bias ? o.out : 0);
  };
  // y[n, oc, oh, ow] = b[oc] + sum_{ic in group(oc), ki, kj}
  //                    w[oc, ic - first(group), ki, kj] * x[n, ic, oh*sh - ph + ki*dh, ...]
  auto forward = [o, out_dims](const Dims& in, std::size_t batch, const double* x,
                               const double* p) {
    const std::size_t cin = in[0], h = in[1], w = in[2];
    const Dims od = out_dims(in);
    const std::size_t ho = od[1], wo = od[2], cin_g = cin / o.groups, cout_g = o.out / o.groups;
    const double* weight = p;
    const double* bias = p + o.out * cin_g * o.kh * o.kw;
    std::vector<double> y(batch * o.out * ho * wo);
    for (std::size_t n = 0; n < batch; ++n)
      for (std::size_t oc = 0; oc < o.out; ++oc)
        for (std::size_t oh = 0; oh < ho; ++oh)
          for (std::size_t ow = 0; ow < wo; ++ow) {
            double acc = o.bias ? bias[oc] : 0.0;
            const std::size_t group = oc / cout_g;
            for (std::size_t icg = 0; icg < cin_g; ++icg)
              for (std::size_t ki = 0; ki < o.kh; ++ki)
                for (std::size_t kj = 0; kj < o.kw; ++kj) {
                  const auto ih = static_cast<std::ptrdiff_t>(oh * o.sh + ki * o.dh) -
                                  static_cast<std::ptrdiff_t>(o.ph);
                  const auto iw = static_cast<std::ptrdiff_t>(ow * o.sw + kj * o.dw) -
                                  static_cast<std::ptrdiff_t>(o.pw);
                  if (ih < 0 || iw < 0 || ih >= std::ptrdiff_t(h) || iw >= std::ptrdiff_t(w))
                    continue;
                  const std::size_t ic = group * cin_g + icg;
                  acc += weight[((oc * cin_g + icg) * o.kh + ki) * o.kw + kj] *
                         x[((n * cin + ic) * h + std::size_t(ih)) * w + std::size_t(iw)];
                }
            y[((n * o.out + oc) * ho + oh) * wo + ow] = acc;
          }
    return y;
  };
  return {"conv", out_dims, count, forward};
}

inline Reference linear(std::size_t out, bool bias = true) {
  auto count = [out, bias](const Dims& in) { return out * in[0] + (bias ? out : 0); };
  auto forward = [out, bias](const Dims& in, std::size_t batch, const double* x, const double* p) {
    const std::size_t features = in[0];
    std::vector<double> y(batch * out);
    for (std::size_t n = 0; n < batch; ++n)
      for (std::size_t o = 0; o < out; ++o) {
        double acc = bias ? p[out * features + o] : 0.0;
        for (std::size_t i = 0; i < features; ++i) acc += p[o * features + i] * x[n * features + i];
        y[n * out + o] = acc;
      }
    return y;
  };
  return {"linear", [out](const Dims&) { return Dims{out}; }, count, forward};
}

// A parameter-free layer mapping each element on its own.
inline Reference elementwise(std::string name, std::function<double(double)> f) {
  auto forward = [f](const Dims& in, std::size_t batch, const double* x, const double*) {
    std::vector<double> y(batch * product(in));
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = f(x[i]);
    return y;
  };
  return {std::move(name), [](const Dims& in) { return in; },
          [](const Dims&) { return std::size_t{0}; }, forward};
}

inline Reference relu() {
  return elementwise("relu", [](double v) { return v > 0 ? v : 0.0; });
}
inline Reference identity() {
  return elementwise("identity", [](double v) { return v; });
}

inline Reference relu6() {
  return elementwise("relu6", [](double v) { return std::min(std::max(v, 0.0), 6.0); });
}
inline Reference sigmoid() {
  return elementwise("sigmoid", [](double v) { return 1.0 / (1.0 + std::exp(-v)); });
}
inline Reference silu() {
  return elementwise("silu", [](double v) { return v / (1.0 + std::exp(-v)); });
}
inline Reference hardsigmoid() {
  return elementwise("hardsigmoid",
                     [](double v) { return std::min(std::max(v + 3, 0.0), 6.0) / 6; });
}
inline Reference hardswish() {
  return elementwise("hardswish",
                     [](double v) { return v * std::min(std::max(v + 3, 0.0), 6.0) / 6; });
}
inline Reference tanh() {
  return elementwise("tanh", [](double v) { return std::tanh(v); });
}

// nn.Softmax(dim=1) on [batch, features]: exp(x_i) / sum_j exp(x_j), written without the
// max-shift, which the test data (|x| <= a few units) does not need.
inline Reference softmax() {
  auto forward = [](const Dims& in, std::size_t batch, const double* x, const double*) {
    const std::size_t f = in[0];
    std::vector<double> y(batch * f);
    for (std::size_t n = 0; n < batch; ++n) {
      double sum = 0;
      for (std::size_t i = 0; i < f; ++i) sum += std::exp(x[n * f + i]);
      for (std::size_t i = 0; i < f; ++i) y[n * f + i] = std::exp(x[n * f + i]) / sum;
    }
    return y;
  };
  return {"softmax", [](const Dims& in) { return in; }, [](const Dims&) { return std::size_t{0}; },
          forward};
}

// nn.BatchNorm{1,2}d on [batch, C, plane...], parameters (weight, bias) [C]. Training: batch
// mean and biased variance over (N, H, W). Evaluation: the given running statistics.
struct BatchNormOptions {
  bool training = true;
  double eps = 1e-5;
  std::vector<double> running_mean{}, running_var{};  // used in evaluation only
};

inline Reference batchnorm(BatchNormOptions o) {
  auto forward = [o](const Dims& in, std::size_t batch, const double* x, const double* p) {
    const std::size_t c_count = in[0], plane = product(in) / in[0];
    std::vector<double> y(batch * product(in));
    for (std::size_t c = 0; c < c_count; ++c) {
      double mean = 0, var = 0;
      if (o.training) {
        for (std::size_t n = 0; n < batch; ++n)
          for (std::size_t i = 0; i < plane; ++i) mean += x[(n * c_count + c) * plane + i];
        mean /= double(batch * plane);
        for (std::size_t n = 0; n < batch; ++n)
          for (std::size_t i = 0; i < plane; ++i) {
            const double d = x[(n * c_count + c) * plane + i] - mean;
            var += d * d;
          }
        var /= double(batch * plane);
      } else {
        mean = o.running_mean.at(c);
        var = o.running_var.at(c);
      }
      for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < plane; ++i) {
          const std::size_t at = (n * c_count + c) * plane + i;
          y[at] = (x[at] - mean) / std::sqrt(var + o.eps) * p[c] + p[c_count + c];
        }
    }
    return y;
  };
  return {o.training ? "batchnorm (training)" : "batchnorm (eval)",
          [](const Dims& in) { return in; }, [](const Dims& in) { return 2 * in[0]; }, forward};
}

// nn.LocalResponseNorm as PyTorch computes it: the squares are zero-padded by size/2 channels
// before and (size-1)/2 after, averaged over `size` channels (avg_pool3d, count_include_pad),
// and y = x / (k + alpha * average)^beta.
struct LrnOptions {
  std::size_t size = 5;
  double alpha = 1e-4, beta = 0.75, k = 2.0;
};

inline Reference lrn(LrnOptions o) {
  auto forward = [o](const Dims& in, std::size_t batch, const double* x, const double*) {
    const std::size_t channels = in[0], plane = in[1] * in[2];
    std::vector<double> y(batch * product(in));
    for (std::size_t n = 0; n < batch; ++n)
      for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t i = 0; i < plane; ++i) {
          double sum = 0;
          for (std::size_t w = 0; w < o.size; ++w) {
            // padded channel c + w holds channel c + w - size/2
            const auto src = std::ptrdiff_t(c + w) - std::ptrdiff_t(o.size / 2);
            if (src < 0 || src >= std::ptrdiff_t(channels)) continue;
            const double v = x[(n * channels + std::size_t(src)) * plane + i];
            sum += v * v;
          }
          const std::size_t at = (n * channels + c) * plane + i;
          y[at] = x[at] / std::pow(o.k + o.alpha * sum / double(o.size), o.beta);
        }
    return y;
  };
  return {"lrn", [](const Dims& in) { return in; }, [](const Dims&) { return std::size_t{0}; },
          forward};
}

inline Reference flatten() {
  Reference r = identity();
  r.name = "flatten";
  r.output_dims = [](const Dims& in) { return Dims{product(in)}; };
  return r;
}

struct PoolOptions {
  std::size_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
  bool ceil = false;
};

// PyTorch's pooling_output_shape (dilation 1): in ceil mode a window that would start in the
// right padding is dropped.
inline std::size_t pool_extent(std::size_t in, std::size_t k, std::size_t s, std::size_t p,
                               bool ceil) {
  std::size_t out = (in + 2 * p - k + (ceil ? s - 1 : 0)) / s + 1;
  if (ceil && (out - 1) * s >= in + p) --out;
  return out;
}

// Window [start, start + k) in padded-input coordinates shifted by -p; max and average pooling
// read only the positions inside the input. The average's divisor counts padding
// (count_include_pad) but not the part of a ceil-mode window beyond the right padding, as
// PyTorch's avg_pool2d: (min(start + k, in + p) - start) per axis.
inline Reference pool(bool average, PoolOptions o) {
  auto out_dims = [o](const Dims& in) -> Dims {
    return {in[0], pool_extent(in[1], o.kh, o.sh, o.ph, o.ceil),
            pool_extent(in[2], o.kw, o.sw, o.pw, o.ceil)};
  };
  auto forward = [average, o, out_dims](const Dims& in, std::size_t batch, const double* x,
                                        const double*) {
    const std::size_t c = in[0], h = in[1], w = in[2];
    const Dims od = out_dims(in);
    const std::size_t ho = od[1], wo = od[2];
    std::vector<double> y(batch * c * ho * wo);
    for (std::size_t plane = 0; plane < batch * c; ++plane)
      for (std::size_t oh = 0; oh < ho; ++oh)
        for (std::size_t ow = 0; ow < wo; ++ow) {
          const auto hs = static_cast<std::ptrdiff_t>(oh * o.sh) - std::ptrdiff_t(o.ph);
          const auto ws = static_cast<std::ptrdiff_t>(ow * o.sw) - std::ptrdiff_t(o.pw);
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          for (std::ptrdiff_t ih = hs; ih < hs + std::ptrdiff_t(o.kh); ++ih)
            for (std::ptrdiff_t iw = ws; iw < ws + std::ptrdiff_t(o.kw); ++iw) {
              if (ih < 0 || iw < 0 || ih >= std::ptrdiff_t(h) || iw >= std::ptrdiff_t(w)) continue;
              const double v = x[(plane * h + std::size_t(ih)) * w + std::size_t(iw)];
              best = std::max(best, v);
              sum += v;
            }
          const auto he = std::min(hs + std::ptrdiff_t(o.kh), std::ptrdiff_t(h + o.ph));
          const auto we = std::min(ws + std::ptrdiff_t(o.kw), std::ptrdiff_t(w + o.pw));
          const double divisor = double((he - hs) * (we - ws));
          y[(plane * ho + oh) * wo + ow] = average ? sum / divisor : best;
        }
    return y;
  };
  return {average ? "avg_pool" : "max_pool", out_dims, [](const Dims&) { return std::size_t{0}; },
          forward};
}

inline Reference max_pool(PoolOptions o) {
  return pool(false, o);
}
inline Reference avg_pool(PoolOptions o) {
  return pool(true, o);
}

// nn.AdaptiveAvgPool2d(1): the mean of each plane.
inline Reference global_avg_pool() {
  auto forward = [](const Dims& in, std::size_t batch, const double* x, const double*) {
    const std::size_t pixels = in[1] * in[2];
    std::vector<double> y(batch * in[0]);
    for (std::size_t plane = 0; plane < y.size(); ++plane) {
      double sum = 0;
      for (std::size_t i = 0; i < pixels; ++i) sum += x[plane * pixels + i];
      y[plane] = sum / double(pixels);
    }
    return y;
  };
  return {"global_avg_pool",
          [](const Dims& in) {
            return Dims{in[0], 1, 1};
          },
          [](const Dims&) { return std::size_t{0}; }, forward};
}

// Layers applied in order, with their parameters concatenated (as Sequential).
inline Reference chain(std::vector<Reference> parts) {
  auto out_dims = [parts](const Dims& in) {
    Dims dims = in;
    for (const Reference& r : parts) dims = r.output_dims(dims);
    return dims;
  };
  auto count = [parts](const Dims& in) {
    Dims dims = in;
    std::size_t total = 0;
    for (const Reference& r : parts) {
      total += r.parameter_count(dims);
      dims = r.output_dims(dims);
    }
    return total;
  };
  auto forward = [parts](const Dims& in, std::size_t batch, const double* x, const double* p) {
    Dims dims = in;
    std::vector<double> value(x, x + batch * product(in));
    for (const Reference& r : parts) {
      value = r.forward(dims, batch, value.data(), p);
      p += r.parameter_count(dims);
      dims = r.output_dims(dims);
    }
    return value;
  };
  return {"chain", out_dims, count, forward};
}

}  // namespace ref

// ---------------------------------------------------------------------------------------------
// A bound layer, type-erased for one scalar type.
// ---------------------------------------------------------------------------------------------
template <class T>
struct LayerOps {
  std::string description;
  Dims input_dims, output_dims;
  std::size_t parameter_count = 0, saved_per_sample = 0, buffer_count = 0;
  std::vector<ParamSpec> params;
  std::vector<BufferSpec> buffers;
  void (*init)(T*, T*, Rng&) = nullptr;
  std::size_t (*scratch_size)(std::size_t, std::size_t) = nullptr;
  void (*forward)(const Ctx<T, cpu>&, const T*, T*) = nullptr;
  void (*backward)(const Ctx<T, cpu>&, const T*, const T*, const T*, T*) = nullptr;

  std::size_t in_size() const { return product(input_dims); }
  std::size_t out_size() const { return product(output_dims); }
};

template <class B, class T>
LayerOps<T> ops_of() {
  static_assert(BoundLayer<B>, "conformance: not a bound layer");
  LayerOps<T> ops;
  ops.description = B::describe();
  ops.input_dims.assign(B::input_shape::dims.begin(), B::input_shape::dims.end());
  ops.output_dims.assign(B::output_shape::dims.begin(), B::output_shape::dims.end());
  ops.parameter_count = B::parameter_count;
  ops.saved_per_sample = B::saved_per_sample;
  ops.buffer_count = buffer_count<B>();
  ops.params.assign(B::params.begin(), B::params.end());
  ops.buffers.assign(B::buffers.begin(), B::buffers.end());
  ops.init = &B::template init<T>;
  ops.scratch_size = [](std::size_t batch, std::size_t threads) {
    return static_cast<std::size_t>(B::template scratch_size<cpu>(batch, threads));
  };
  ops.forward = &B::template forward<T, cpu>;
  ops.backward = &B::template backward<T, cpu>;
  return ops;
}

// Owns every buffer a layer's Ctx points at, sized from the layer's own declarations, so that
// an under-declared saved_per_sample or scratch_size shows up as a wrong result (or a sanitizer
// report) instead of being masked by generous test buffers.
template <class T>
class Runner {
 public:
  struct Gradients {
    std::vector<T> dx, dparams;
  };

  Runner(const LayerOps<T>& ops, std::size_t batch, std::size_t threads, bool training,
         std::uint64_t seed)
      : params(ops.parameter_count),
        buffers(ops.buffer_count),
        ops_(ops),
        batch_(batch),
        threads_(threads),
        training_(training),
        seed_(seed),
        grads_(ops.parameter_count),
        saved_(ops.saved_per_sample * batch),
        scratch_(ops.scratch_size(batch, threads)),
        buffers_(ops.buffer_count) {
    // The layer's own initial buffers (running variance 1, ...); the caller may replace them.
    std::vector<T> scratch_params(ops.parameter_count);
    Rng init_rng(seed);
    ops.init(scratch_params.data(), buffers.data(), init_rng);
  }

  // Filled by the caller; PyTorch's order and layout.
  std::vector<T> params;
  // The buffers every forward starts from (a training forward updates running statistics;
  // restarting from the same values keeps each forward one fixed function, and the update of
  // one forward observable in buffers_after()).
  std::vector<T> buffers;

  const std::vector<T>& buffers_after() const { return buffers_; }

  // The generator is reseeded on every forward, so that a random layer (Dropout) draws the
  // same mask each time and finite differences see one fixed function.
  std::vector<T> forward(const std::vector<T>& x) {
    REQUIRE(x.size() == batch_ * ops_.in_size());
    poison(saved_);
    poison(scratch_);
    std::vector<T> y(batch_ * ops_.out_size(), nan());
    REQUIRE(buffers.size() == ops_.buffer_count);
    buffers_ = buffers;
    rng_.seed(seed_);
    ops_.forward(ctx(), x.data(), y.data());
    return y;
  }

  // Needs the forward of this same x just before (the layer's saved state is that forward's).
  Gradients backward(const std::vector<T>& x, const std::vector<T>& y, const std::vector<T>& dy,
                     bool with_dx = true) {
    REQUIRE(dy.size() == y.size());
    poison(scratch_);
    poison(grads_);
    Gradients g;
    if (with_dx) g.dx.assign(x.size(), nan());
    ops_.backward(ctx(), x.data(), y.data(), dy.data(), with_dx ? g.dx.data() : nullptr);
    g.dparams = grads_;
    return g;
  }

 private:
  static T nan() { return std::numeric_limits<T>::quiet_NaN(); }
  // NaN in every buffer a call may not read before writing: "backward overwrites" and
  // "scratch is free" are then checked, not assumed.
  static void poison(std::vector<T>& v) { std::fill(v.begin(), v.end(), nan()); }

  Ctx<T, cpu> ctx() {
    return make_context<cpu>(LayerMemory<T>{.params = params.data(),
                                            .grads = grads_.data(),
                                            .saved = saved_.data(),
                                            .scratch = scratch_.data(),
                                            .buffers = buffers_.data()},
                             batch_, {threads_}, training_, &rng_);
  }

  const LayerOps<T>& ops_;
  std::size_t batch_, threads_;
  bool training_;
  std::uint64_t seed_;
  std::vector<T> grads_, saved_, scratch_, buffers_;
  Rng rng_;
};

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

// An element passes when |got - want| <= abs + rel * max(|got|, |want|); NaN never passes.
struct Tolerance {
  double rel = 0, abs = 0;
};

template <class T>
std::vector<double> widen(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

inline double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double e : v) m = std::max(m, std::abs(e));
  return m;
}

// Empty when got matches want; otherwise a summary naming the worst element, for the failure
// message (one line per tensor instead of one per element).
inline std::string mismatch(std::string_view what, const std::vector<double>& got,
                            const std::vector<double>& want, Tolerance tol) {
  if (got.size() != want.size())
    return std::string(what) + ": " + std::to_string(got.size()) + " elements, expected " +
           std::to_string(want.size());
  std::size_t bad = 0, worst = 0;
  double worst_ratio = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(got[i] - want[i]);
    const double bound = tol.abs + tol.rel * std::max(std::abs(got[i]), std::abs(want[i]));
    if (err <= bound) continue;
    const double ratio = std::isnan(err) ? std::numeric_limits<double>::infinity() : err / bound;
    if (bad++ == 0 || ratio > worst_ratio) worst = i, worst_ratio = ratio;
  }
  if (bad == 0) return {};
  std::ostringstream text;
  text.precision(10);
  text << what << ": " << bad << " of " << got.size() << " elements differ (rel " << tol.rel
       << ", abs " << tol.abs << "); worst at [" << worst << "]: got " << got[worst]
       << ", expected " << want[worst];
  return text.str();
}

#define STRATA_CHECK_CLOSE(what, got, want, tol)                                         \
  do {                                                                                   \
    const std::string strata_mismatch_ = ::strata::test::mismatch(what, got, want, tol); \
    CHECK_MESSAGE(strata_mismatch_.empty(), strata_mismatch_);                           \
  } while (false)

// ---------------------------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------------------------

// Distinct values +-(2k+1)/n in random order: at least 1/n from 0 (ReLU's kink) and 2/n apart
// (no max-pool ties), so that finite differences with a tiny step never straddle a kink.
inline std::vector<double> distinct_values(std::size_t n, Rng& rng) {
  std::vector<double> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = (2.0 * double(k) + 1.0) / double(n) - 1.0;
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

inline std::vector<double> uniform_values(std::size_t n, Rng& rng) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> v(n);
  for (double& e : v) e = uniform(rng);
  return v;
}

// Rounds through float, so that the float and the double runs see exactly the same inputs.
inline std::vector<double> float_representable(std::vector<double> v) {
  for (double& e : v) e = double(static_cast<float>(e));
  return v;
}

template <class T>
std::vector<T> narrow(const std::vector<double>& v) {
  std::vector<T> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(), [](double e) { return static_cast<T>(e); });
  return out;
}

// The elements a gradient check visits: all of them, or an evenly spread sample that always
// includes the first and the last.
inline std::vector<std::size_t> checked_indices(std::size_t size, std::size_t limit) {
  std::vector<std::size_t> out;
  if (size <= limit) {
    out.resize(size);
    std::iota(out.begin(), out.end(), std::size_t{0});
    return out;
  }
  for (std::size_t k = 0; k + 1 < limit; ++k) out.push_back(k * size / (limit - 1));
  out.push_back(size - 1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

struct Expected {
  Dims output_shape;
  std::size_t parameter_count = 0;
  std::size_t macs = 0;
};

struct CheckOptions {
  std::size_t batch = 3;  // odd, so that two threads get unequal shares
  bool training = true;
  std::uint64_t seed = 0x5EED;
  double eps = 1e-6;
  std::size_t max_checked = 200;  // elements per tensor in the finite-difference check
  Tolerance gradient{1e-6, 1e-9};
  Tolerance reference{1e-12, 1e-12};
  Tolerance threads{1e-12, 1e-13};
  // float vs double; abs is relative to the tensor's largest magnitude, since elements that
  // cancel to near zero carry float's rounding of the terms, not of the result.
  Tolerance float_vs_double{1e-4, 1e-5};
  // Initial buffers (running statistics) in BufferSpec order; empty: the layer's init.
  std::vector<double> buffers;
  // The input is input_offset + input_spread * (distinct values in [-1, 1]): a large offset
  // against the spread tests a layer's precision where its statistics could cancel.
  double input_offset = 0, input_spread = 1;
};

namespace detail {

struct Problem {
  std::vector<double> x, params, dy;
};

template <class T>
void set_buffers(Runner<T>& run, const std::vector<double>& buffers) {
  if (buffers.empty()) return;
  REQUIRE(buffers.size() == run.buffers.size());
  run.buffers = narrow<T>(buffers);
}

// The same data for a layer in float and in double: it depends only on the sizes and the seed.
template <class T>
Problem make_problem(const LayerOps<T>& ops, const CheckOptions& o) {
  Rng rng(o.seed);
  Problem p;
  p.x = distinct_values(o.batch * ops.in_size(), rng);
  for (double& v : p.x) v = o.input_offset + o.input_spread * v;
  p.x = float_representable(std::move(p.x));
  p.params = float_representable(uniform_values(ops.parameter_count, rng));
  p.dy = float_representable(uniform_values(o.batch * ops.out_size(), rng));
  return p;
}

// d/dv sum(y * dy) by central differences over the sampled elements of v (the input or the
// parameters, which `forward` reads); the difference is taken per output element before the
// sum, so that rounding of large outputs does not swamp it.
template <class Forward>
std::pair<std::vector<double>, std::vector<double>> central_differences(
    std::vector<double>& v, const std::vector<double>& analytic, const std::vector<double>& dy,
    const CheckOptions& o, Forward&& forward) {
  std::vector<double> numeric, picked;
  for (std::size_t i : checked_indices(v.size(), o.max_checked)) {
    const double original = v[i];
    v[i] = original + o.eps;
    const double above = v[i];
    const std::vector<double> plus = forward();
    v[i] = original - o.eps;
    const double below = v[i];
    const std::vector<double> minus = forward();
    v[i] = original;
    double slope = 0;
    for (std::size_t k = 0; k < dy.size(); ++k) slope += (plus[k] - minus[k]) * dy[k];
    // Divided by the step actually taken: at 300, original +- eps rounds by 3e-14, 3e-8 of eps.
    numeric.push_back(slope / (above - below));
    picked.push_back(analytic[i]);
  }
  return {picked, numeric};
}

struct Analytic {
  std::vector<double> y, dx, dparams, buffers;
};

inline Analytic gradient_check(const LayerOps<double>& ops, const CheckOptions& o,
                               std::size_t threads) {
  INFO("gradient check, threads = " << threads);
  const Problem p = make_problem(ops, o);
  Runner<double> run(ops, o.batch, threads, o.training, o.seed);
  run.params = p.params;
  set_buffers(run, o.buffers);
  Analytic a;
  a.y = run.forward(p.x);
  a.buffers = run.buffers_after();
  auto g = run.backward(p.x, a.y, p.dy);
  a.dx = g.dx;
  a.dparams = g.dparams;

  // The first layer of a network is given no dx; its parameter gradients must not change.
  run.forward(p.x);
  STRATA_CHECK_CLOSE("dparams with dx == nullptr", run.backward(p.x, a.y, p.dy, false).dparams,
                     a.dparams, Tolerance{});

  // Finite differences on one thread only: the multi-threaded run is then held to the
  // single-threaded one, and thousands of tiny OpenMP regions are slow on a loaded machine.
  if (threads != 1) return a;
  std::vector<double> x = p.x;
  auto [dx, dx_numeric] = central_differences(x, a.dx, p.dy, o, [&] { return run.forward(x); });
  STRATA_CHECK_CLOSE("dx vs finite differences", dx, dx_numeric, o.gradient);
  if (ops.parameter_count > 0) {
    auto [dp, dp_numeric] =
        central_differences(run.params, a.dparams, p.dy, o, [&] { return run.forward(p.x); });
    STRATA_CHECK_CLOSE("dparams vs finite differences", dp, dp_numeric, o.gradient);
  }
  return a;
}

inline void check_counts(const LayerOps<double>& ops, std::size_t macs, const Expected& expected,
                         const ref::Reference& reference) {
  CHECK_MESSAGE(ops.output_dims == expected.output_shape,
                "output_shape " << to_string(ops.output_dims) << ", expected "
                                << to_string(expected.output_shape));
  CHECK(ops.parameter_count == expected.parameter_count);
  CHECK(macs == expected.macs);
  std::size_t declared = 0;
  for (const ParamSpec& spec : ops.params) declared += spec.size();
  CHECK_MESSAGE(declared == ops.parameter_count, "ParamSpec sizes sum to " << declared);
  CHECK(!ops.description.empty());
  if (reference.empty()) return;
  const Dims ref_dims = reference.output_dims(ops.input_dims);
  CHECK_MESSAGE(ops.output_dims == ref_dims, "output_shape " << to_string(ops.output_dims)
                                                             << ", reference "
                                                             << to_string(ref_dims));
  CHECK(ops.parameter_count == reference.parameter_count(ops.input_dims));
}

inline void check_reference(const LayerOps<double>& ops, const ref::Reference& reference,
                            const CheckOptions& o, const Analytic& one_thread) {
  if (reference.empty() || reference.output_dims(ops.input_dims) != ops.output_dims) return;
  INFO("naive reference: " << reference.name);
  const Problem p = make_problem(ops, o);
  const std::vector<double> want =
      reference.forward(ops.input_dims, o.batch, p.x.data(), p.params.data());
  STRATA_CHECK_CLOSE("y vs naive reference", one_thread.y, want, o.reference);
}

inline void check_float_vs_double(const LayerOps<float>& ops, const CheckOptions& o,
                                  const Analytic& exact) {
  INFO("float vs double");
  const Problem p = make_problem(ops, o);
  Runner<float> run(ops, o.batch, 1, o.training, o.seed);
  run.params = narrow<float>(p.params);
  set_buffers(run, o.buffers);
  const auto x = narrow<float>(p.x);
  const auto y = run.forward(x);
  const auto buffers = run.buffers_after();
  const auto g = run.backward(x, y, narrow<float>(p.dy));
  const auto scaled = [&](const std::vector<double>& want) {
    return Tolerance{o.float_vs_double.rel, o.float_vs_double.abs * std::max(1.0, max_abs(want))};
  };
  STRATA_CHECK_CLOSE("y", widen(y), exact.y, scaled(exact.y));
  STRATA_CHECK_CLOSE("dx", widen(g.dx), exact.dx, scaled(exact.dx));
  STRATA_CHECK_CLOSE("dparams", widen(g.dparams), exact.dparams, scaled(exact.dparams));
  STRATA_CHECK_CLOSE("buffers after forward", widen(buffers), exact.buffers, scaled(exact.buffers));
}

inline void check_layer(const LayerOps<double>& ops, const LayerOps<float>& ops_float,
                        std::size_t macs, const Expected& expected, const ref::Reference& reference,
                        const CheckOptions& o) {
  INFO("layer: " << ops.description << " on " << to_string(ops.input_dims) << ", batch " << o.batch
                 << std::string(o.training ? ", training" : ", eval"));
  check_counts(ops, macs, expected, reference);
  if (ops.output_dims != expected.output_shape) return;  // the rest would only repeat that
  const Analytic one = gradient_check(ops, o, 1);
  const Analytic two = gradient_check(ops, o, 2);
  STRATA_CHECK_CLOSE("y, 2 threads vs 1", two.y, one.y, o.threads);
  STRATA_CHECK_CLOSE("dx, 2 threads vs 1", two.dx, one.dx, o.threads);
  STRATA_CHECK_CLOSE("dparams, 2 threads vs 1", two.dparams, one.dparams, o.threads);
  STRATA_CHECK_CLOSE("buffers, 2 threads vs 1", two.buffers, one.buffers, o.threads);
  check_reference(ops, reference, o, one);
  check_float_vs_double(ops_float, o, one);
}

template <class T>
void check_golden_in(const LayerOps<T>& ops, const Golden& g, Tolerance tol, std::size_t threads,
                     bool training) {
  INFO(std::string(sizeof(T) == sizeof(float) ? "float" : "double") << ", threads = " << threads);
  const GoldenTensor& x = g.tensor("x");
  REQUIRE(!x.shape.empty());
  const std::size_t batch = x.shape[0];
  REQUIRE_MESSAGE(
      Dims(x.shape.begin() + 1, x.shape.end()) == ops.input_dims,
      "golden x " << to_string(x.shape) << " vs layer input " << to_string(ops.input_dims));
  const GoldenTensor& y_want = g.tensor("y");
  REQUIRE_MESSAGE(
      Dims(y_want.shape.begin() + 1, y_want.shape.end()) == ops.output_dims,
      "golden y " << to_string(y_want.shape) << " vs layer output " << to_string(ops.output_dims));

  Runner<T> run(ops, batch, threads, training, /*seed=*/1);
  std::vector<double> params, dparams_want;
  for (const ParamSpec& spec : ops.params) {
    const std::string name(spec.name.view());
    const GoldenTensor& value = g.tensor(name);
    REQUIRE_MESSAGE(value.shape == Dims(spec.dims.begin(), spec.dims.begin() + spec.rank),
                    "golden " << name << " " << to_string(value.shape));
    params.insert(params.end(), value.values.begin(), value.values.end());
    const GoldenTensor& grad = g.tensor("d" + name);
    dparams_want.insert(dparams_want.end(), grad.values.begin(), grad.values.end());
  }
  REQUIRE(params.size() == ops.parameter_count);
  run.params = narrow<T>(params);

  // Buffers missing from the file keep the layer's init (PyTorch's too).
  std::size_t buffer_offset = 0;
  for (const BufferSpec& spec : ops.buffers) {
    const std::string name(spec.name.view());
    if (g.has_tensor(name)) {
      const GoldenTensor& value = g.tensor(name);
      REQUIRE_MESSAGE(value.values.size() == spec.size(), "golden buffer " << name);
      std::copy(value.values.begin(), value.values.end(), run.buffers.begin() + buffer_offset);
    }
    buffer_offset += spec.size();
  }

  const auto xs = narrow<T>(x.values);
  const auto y = run.forward(xs);
  STRATA_CHECK_CLOSE("y vs PyTorch", widen(y), y_want.values, tol);
  buffer_offset = 0;
  for (const BufferSpec& spec : ops.buffers) {
    const std::string name = std::string(spec.name.view()) + "_after";
    if (g.has_tensor(name)) {
      const std::vector<double> got(run.buffers_after().begin() + buffer_offset,
                                    run.buffers_after().begin() + buffer_offset + spec.size());
      STRATA_CHECK_CLOSE(name + " vs PyTorch", got, g.tensor(name).values, tol);
    }
    buffer_offset += spec.size();
  }
  const auto grads = run.backward(xs, y, narrow<T>(g.tensor("dy").values));
  STRATA_CHECK_CLOSE("dx vs PyTorch", widen(grads.dx), g.tensor("dx").values, tol);
  STRATA_CHECK_CLOSE("dparams vs PyTorch", widen(grads.dparams), dparams_want, tol);
}

}  // namespace detail

// (a), (b), (c), (e) for bound layer B; see the top of this file.
template <class B>
void check_layer(const Expected& expected, const ref::Reference& reference,
                 const CheckOptions& options = {}) {
  detail::check_layer(ops_of<B, double>(), ops_of<B, float>(), B::macs, expected, reference,
                      options);
}

struct GoldenOptions {
  Tolerance float_tolerance{1e-4, 1e-5};
  // The files hold PyTorch's float64 results; only summation order differs.
  Tolerance double_tolerance{1e-10, 1e-12};
  bool training = true;
};

// (d): tests/golden/<case_name>.txt; tensors x, y, dy, dx and, per parameter, <name> and
// d<name> (weight/dweight, bias/dbias).
template <class B>
void check_golden(std::string_view case_name, const GoldenOptions& options = {}) {
  INFO("golden case " << std::string(case_name) << ", layer " << B::describe());
  const Golden g = load_golden(case_name);
  const auto ops_float = ops_of<B, float>();
  const auto ops_double = ops_of<B, double>();
  for (std::size_t threads : {1, 2}) {
    detail::check_golden_in(ops_float, g, options.float_tolerance, threads, options.training);
    detail::check_golden_in(ops_double, g, options.double_tolerance, threads, options.training);
  }
}

}  // namespace strata::test
