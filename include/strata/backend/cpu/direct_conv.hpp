// Direct convolution with AVX-512 for the commonest convolution of all: stride 1, one group,
// output as large as the input (3x3 pad 1, 1x7 pad (0, 3), 5x5 pad 2, dilated "same" ...).
//
// Why not im2col + GEMM here: a 3x3 convolution with few output channels spends as long
// writing and re-packing its nine-fold column matrix as multiplying it. With the output the
// size of the input, every tap t of the kernel reads the input plane shifted by one constant
// flat offset, so a plane is processed as one flat run of 16-float vectors, and each tap is a
// masked load (the mask zeroes the lanes whose shifted pixel lies in the padding). Masks and
// offsets are tabulated once per geometry.
//
// The input gradient is the same correlation run backwards (dx[i][p] = sum W[o][i][t] *
// dy[o][p - offset_t]); the weight gradient reduces dy[o] * x[i] shifted, over the pixels of a
// group of images, in registers.
#pragma once

#include <cstddef>

namespace strata::backend::cpu {

// The flat-offset trick needs stride 1 and an output of the input's size; up to 25 taps keep
// a weight-gradient tile in registers.
template <auto G>
constexpr bool direct_geometry() {
  const std::size_t taps = G.kernel_h * G.kernel_w;
  return G.stride_h == 1 && G.stride_w == 1 && G.out_height() == G.height &&
         G.out_width() == G.width && taps > 1 && taps <= 25;
}

// One input and one output channel per group.
template <auto G>
constexpr bool depthwise() {
  return G.groups > 1 && G.groups == G.in_channels && G.groups == G.out_channels;
}

// Dense convolutions, and depthwise ones.
template <auto G>
constexpr bool direct_conv_applies = G.groups == 1 && direct_geometry<G>();
template <auto G>
constexpr bool direct_depthwise_applies = depthwise<G>() && direct_geometry<G>();

}  // namespace strata::backend::cpu

#if defined(__AVX512F__)
#define STRATA_DIRECT_CONV 1

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <numeric>

#include "strata/backend/cpu/parallel.hpp"

namespace strata::backend::cpu {

namespace direct {

inline constexpr std::size_t lanes = 16;
// Output-channel rows per forward/input-gradient tile, and 16-pixel vectors per tile:
// 8 x 3 = 24 accumulators, leaving registers for the three input vectors and a broadcast.
inline constexpr std::size_t tile_rows = 8;
inline constexpr std::size_t tile_vectors = 3;
// Pixels reduced per weight-gradient tile before its registers are summed horizontally.
inline constexpr std::size_t reduction_pixels = 2048;
// 16-pixel vectors per depthwise tile: eight accumulators cover the FMA latency.
inline constexpr std::size_t depthwise_vectors = 8;

// The accumulator arrays below live in registers only when every loop over them is fully
// unrolled, which the compilers' heuristics do not always choose.
#if defined(__clang__)
#define STRATA_UNROLL _Pragma("unroll")
#else
#define STRATA_UNROLL _Pragma("GCC unroll 64")
#endif

// Offsets and lane masks of every tap, for a geometry whose output plane has the input's size.
template <std::size_t Taps, std::size_t Vectors>
struct TapTable {
  std::array<std::ptrdiff_t, Taps> offset{};
  // [tap][vector]: lanes whose shifted pixel lies inside the image (and inside the plane).
  std::array<std::uint16_t, Taps * Vectors> mask{};
};

}  // namespace direct

template <auto G>
struct DirectConvPlan {
  static constexpr std::size_t taps = G.kernel_h * G.kernel_w;
  static constexpr std::size_t pixels = G.height * G.width;
  static constexpr std::size_t vectors = (pixels + direct::lanes - 1) / direct::lanes;
  static constexpr std::uint16_t tail_mask =
      pixels % direct::lanes == 0
          ? 0xFFFF
          : static_cast<std::uint16_t>((1u << (pixels % direct::lanes)) - 1);

  // forward: output pixel p reads input p + offset (zero where the tap falls in the padding).
  // backward: input pixel p receives from output p - offset, where that output pixel exists.
  static direct::TapTable<taps, vectors> table(bool backward) {
    direct::TapTable<taps, vectors> t{};
    for (std::size_t ki = 0; ki < G.kernel_h; ++ki)
      for (std::size_t kj = 0; kj < G.kernel_w; ++kj) {
        const std::size_t tap = ki * G.kernel_w + kj;
        const auto dh =
            static_cast<std::ptrdiff_t>(ki * G.dilation_h) - static_cast<std::ptrdiff_t>(G.pad_h);
        const auto dw =
            static_cast<std::ptrdiff_t>(kj * G.dilation_w) - static_cast<std::ptrdiff_t>(G.pad_w);
        const std::ptrdiff_t offset = dh * static_cast<std::ptrdiff_t>(G.width) + dw;
        t.offset[tap] = backward ? -offset : offset;
        for (std::size_t v = 0; v < vectors; ++v) {
          std::uint16_t bits = 0;
          for (std::size_t lane = 0; lane < direct::lanes; ++lane) {
            const std::size_t p = v * direct::lanes + lane;
            if (p >= pixels) continue;
            const auto row = static_cast<std::ptrdiff_t>(p / G.width) + (backward ? -dh : dh);
            const auto col = static_cast<std::ptrdiff_t>(p % G.width) + (backward ? -dw : dw);
            if (row >= 0 && row < static_cast<std::ptrdiff_t>(G.height) && col >= 0 &&
                col < static_cast<std::ptrdiff_t>(G.width))
              bits = static_cast<std::uint16_t>(bits | (1u << lane));
          }
          t.mask[tap * vectors + v] = bits;
        }
      }
    return t;
  }
  // Built on first use rather than at compile time: a 224x224 plane has 28,224 masks per
  // direction, too many for the compilers' constant-evaluation limits (and compile times).
  static const direct::TapTable<taps, vectors>& forward_table() {
    static const direct::TapTable<taps, vectors> built = table(false);
    return built;
  }
  static const direct::TapTable<taps, vectors>& backward_table() {
    static const direct::TapTable<taps, vectors> built = table(true);
    return built;
  }
};

namespace direct {

// Where the vectors of a tile are: vector g of a run of images is vector g % V of image g / V,
// so that one tile spans images when their planes are small (a 4x4 plane is one vector).
struct TileVectors {
  const float* in;  // the first image's input, [InChannels, H, W]
  float* out;       // its output rows, [Rows, H, W] within [OutChannels, H, W]
  std::size_t in_image_stride, out_image_stride;
};

// out[r] over the Vectors vectors from g0 for Rows rows = sum over in-channels i and taps t of
// packed[i][t][r] * in[i][p + offset_t], masked; the rows start from init[r] (bias) or zero.
template <class Plan, std::size_t Rows, std::size_t Vectors, std::size_t InChannels>
inline void correlate_tile(const TapTable<Plan::taps, Plan::vectors>& table, const float* packed,
                           const TileVectors& at, std::size_t g0, const float* init) {
  const float* in[Vectors];
  float* out[Vectors];
  const std::uint16_t* masks[Vectors];
  std::size_t vector[Vectors];
  STRATA_UNROLL
  for (std::size_t j = 0; j < Vectors; ++j) {
    const std::size_t n = (g0 + j) / Plan::vectors;
    vector[j] = (g0 + j) % Plan::vectors;
    in[j] = at.in + n * at.in_image_stride + vector[j] * lanes;
    out[j] = at.out + n * at.out_image_stride + vector[j] * lanes;
    masks[j] = table.mask.data() + vector[j];
  }
  __m512 acc[Rows * Vectors];
  STRATA_UNROLL
  for (std::size_t a = 0; a < Rows * Vectors; ++a)
    acc[a] = init ? _mm512_set1_ps(init[a / Vectors]) : _mm512_setzero_ps();
  for (std::size_t i = 0; i < InChannels; ++i)
    for (std::size_t t = 0; t < Plan::taps; ++t) {
      const std::ptrdiff_t shift = static_cast<std::ptrdiff_t>(i * Plan::pixels) + table.offset[t];
      __m512 x[Vectors];
      STRATA_UNROLL
      for (std::size_t j = 0; j < Vectors; ++j)
        x[j] = _mm512_maskz_loadu_ps(masks[j][t * Plan::vectors], in[j] + shift);
      const float* w = packed + (i * Plan::taps + t) * Rows;
      STRATA_UNROLL
      for (std::size_t a = 0; a < Rows * Vectors; ++a)
        acc[a] = _mm512_fmadd_ps(_mm512_set1_ps(w[a / Vectors]), x[a % Vectors], acc[a]);
    }
  STRATA_UNROLL
  for (std::size_t a = 0; a < Rows * Vectors; ++a) {
    const std::size_t j = a % Vectors;
    float* to = out[j] + (a / Vectors) * Plan::pixels;
    if (vector[j] + 1 == Plan::vectors)
      _mm512_mask_storeu_ps(to, Plan::tail_mask, acc[a]);
    else
      _mm512_storeu_ps(to, acc[a]);
  }
}

// Rows output rows over the vectors [g_begin, g_end) of a run of images: tiles of tile_vectors
// vectors, then the remainder.
template <class Plan, std::size_t Rows, std::size_t InChannels>
inline void correlate_rows(const TapTable<Plan::taps, Plan::vectors>& table, const float* packed,
                           const TileVectors& at, std::size_t g_begin, std::size_t g_end,
                           const float* init) {
  std::size_t g = g_begin;
  for (; g + tile_vectors <= g_end; g += tile_vectors)
    correlate_tile<Plan, Rows, tile_vectors, InChannels>(table, packed, at, g, init);
  static_assert(tile_vectors == 3, "the remainder below handles 1 or 2 vectors");
  if (g_end - g == 2)
    correlate_tile<Plan, Rows, 2, InChannels>(table, packed, at, g, init);
  else if (g_end - g == 1)
    correlate_tile<Plan, Rows, 1, InChannels>(table, packed, at, g, init);
}

// Weights as the tiles read them: for each tile of tile_rows output rows, [in][tap][row]. The
// last tile holds the remaining rows, packed as densely. weight(o, i, t) gives W's entry.
template <std::size_t OutChannels, std::size_t InChannels, std::size_t Taps, class Weight>
inline void pack_weights(float* packed, Weight&& weight) {
  for (std::size_t o0 = 0; o0 < OutChannels; o0 += tile_rows) {
    const std::size_t rows = std::min(tile_rows, OutChannels - o0);
    float* tile = packed + o0 * InChannels * Taps;
    for (std::size_t i = 0; i < InChannels; ++i)
      for (std::size_t t = 0; t < Taps; ++t)
        for (std::size_t r = 0; r < rows; ++r)
          tile[(i * Taps + t) * rows + r] = weight(o0 + r, i, t);
  }
}

// One tile of output rows over vectors [g_begin, g_end); the tile index picks full or remainder
// rows.
template <class Plan, std::size_t OutChannels, std::size_t InChannels>
inline void correlate_tile_rows(const TapTable<Plan::taps, Plan::vectors>& table,
                                const float* packed, const float* in, float* out,
                                std::size_t g_begin, std::size_t g_end, std::size_t tile,
                                const float* bias) {
  constexpr std::size_t full_tiles = OutChannels / tile_rows;
  const std::size_t o0 = tile * tile_rows;
  const float* tile_weights = packed + o0 * InChannels * Plan::taps;
  const float* init = bias ? bias + o0 : nullptr;
  const TileVectors at{in, out + o0 * Plan::pixels, InChannels * Plan::pixels,
                       OutChannels * Plan::pixels};
  if (tile < full_tiles) {
    correlate_rows<Plan, tile_rows, InChannels>(table, tile_weights, at, g_begin, g_end, init);
  } else if constexpr (OutChannels % tile_rows != 0) {
    correlate_rows<Plan, OutChannels % tile_rows, InChannels>(table, tile_weights, at, g_begin,
                                                              g_end, init);
  }
}

// The images whose vectors one work item covers: one image when its plane has enough vectors
// to fill tiles, several when it is small (7x7, 4x4), but no more than keep every thread busy.
inline std::size_t images_per_item(std::size_t vectors, std::size_t batch, std::size_t threads) {
  constexpr std::size_t vectors_per_item = 48;
  const std::size_t per_thread = (batch + threads - 1) / threads;
  return std::clamp<std::size_t>(vectors_per_item / vectors, 1,
                                 std::max<std::size_t>(1, per_thread));
}

// out = correlation of in with the packed weights, over the whole batch: work items are (group
// of images, tile of output rows).
template <class Plan, std::size_t OutChannels, std::size_t InChannels>
void correlate_batch(std::size_t threads, std::size_t batch,
                     const TapTable<Plan::taps, Plan::vectors>& table, const float* packed,
                     const float* in, float* out, const float* bias) {
  constexpr std::size_t tiles = (OutChannels + tile_rows - 1) / tile_rows;
  const std::size_t group = images_per_item(Plan::vectors, batch, threads);
  const std::size_t groups = (batch + group - 1) / group;
  parallel_for(threads, groups * tiles, [&](std::size_t item, std::size_t) {
    const std::size_t first = item / tiles * group, last = std::min(batch, first + group);
    correlate_tile_rows<Plan, OutChannels, InChannels>(
        table, packed, in, out, first * Plan::vectors, last * Plan::vectors, item % tiles, bias);
  });
}

// dw[r][i][t] += sum over the images' pixels of dy[r][p] * x[i][p + offset_t], for Rows output
// channels, one input channel i and the Taps taps from first_tap; images are image_stride_*
// apart. Rows x Taps accumulators: each shifted x vector feeds Rows FMAs and each dy vector
// Taps, so that the loads (two of them split across cache lines) keep up with the FMAs.
template <class Plan, std::size_t Rows, std::size_t Taps>
inline void weight_grad_tile(const float* dy, const float* x, std::size_t images,
                             std::size_t dy_image_stride, std::size_t x_image_stride, float* dw,
                             std::size_t dw_row_stride, std::size_t first_tap) {
  const auto& table = Plan::forward_table();
  __m512 acc[Rows * Taps];
  STRATA_UNROLL
  for (std::size_t a = 0; a < Rows * Taps; ++a) acc[a] = _mm512_setzero_ps();
  const std::uint16_t* masks = table.mask.data() + first_tap * Plan::vectors;
  const std::ptrdiff_t* offsets = table.offset.data() + first_tap;
  for (std::size_t n = 0; n < images; ++n) {
    const float* grad = dy + n * dy_image_stride;
    const float* plane = x + n * x_image_stride;
    for (std::size_t v = 0; v < Plan::vectors; ++v) {
      // The shifted x is already zero past the plane; the mask keeps the last plane's load
      // inside the buffer.
      const std::uint16_t valid = v + 1 == Plan::vectors ? Plan::tail_mask : 0xFFFF;
      __m512 d[Rows];
      STRATA_UNROLL
      for (std::size_t r = 0; r < Rows; ++r)
        d[r] = _mm512_maskz_loadu_ps(valid, grad + r * Plan::pixels + v * lanes);
      STRATA_UNROLL
      for (std::size_t t = 0; t < Taps; ++t) {
        const __m512 shifted =
            _mm512_maskz_loadu_ps(masks[t * Plan::vectors + v], plane + v * lanes + offsets[t]);
        STRATA_UNROLL
        for (std::size_t r = 0; r < Rows; ++r)
          acc[r * Taps + t] = _mm512_fmadd_ps(d[r], shifted, acc[r * Taps + t]);
      }
    }
  }
  STRATA_UNROLL
  for (std::size_t a = 0; a < Rows * Taps; ++a)
    dw[(a / Taps) * dw_row_stride + first_tap + a % Taps] += _mm512_reduce_add_ps(acc[a]);
}

}  // namespace direct

// Scratch: the packed weights, shared by all threads.
template <auto G>
constexpr std::size_t direct_conv_scratch_size() {
  return G.out_channels * G.in_channels * G.kernel_h * G.kernel_w;
}

template <auto G>
void direct_conv_forward(std::size_t threads, std::size_t batch, const float* weight,
                         const float* bias, const float* x, float* y, float* packed) {
  using Plan = DirectConvPlan<G>;
  constexpr std::size_t taps = Plan::taps, cin = G.in_channels, cout = G.out_channels;
  direct::pack_weights<cout, cin, taps>(packed, [&](std::size_t o, std::size_t i, std::size_t t) {
    return weight[(o * cin + i) * taps + t];  // W[Cout, Cin, kh, kw]
  });
  direct::correlate_batch<Plan, cout, cin>(threads, batch, Plan::forward_table(), packed,
                                           x,  // [N, Cin, H, W]
                                           y,  // [N, Cout, H, W]
                                           bias);
}

// dx[n] = correlation of dy[n] with W read as [Cin][Cout] and the taps reversed (offsets
// negated): written, not accumulated.
template <auto G>
void direct_conv_backward_input(std::size_t threads, std::size_t batch, const float* weight,
                                const float* dy, float* dx, float* packed) {
  using Plan = DirectConvPlan<G>;
  constexpr std::size_t taps = Plan::taps, cin = G.in_channels, cout = G.out_channels;
  direct::pack_weights<cin, cout, taps>(packed, [&](std::size_t i, std::size_t o, std::size_t t) {
    return weight[(o * cin + i) * taps + t];
  });
  direct::correlate_batch<Plan, cin, cout>(threads, batch, Plan::backward_table(), packed,
                                           dy,  // [N, Cout, H, W]
                                           dx,  // [N, Cin, H, W]
                                           nullptr);
}

// Images reduced together by one weight-gradient tile: enough pixels to amortise the
// horizontal sums, few enough that the group's planes stay in cache, and a whole number of
// groups per thread, so that small planes (whose groups are large) still use every thread.
template <auto G>
std::size_t direct_weight_grad_images(std::size_t batch, std::size_t threads) {
  const std::size_t most =
      std::max<std::size_t>(1, direct::reduction_pixels / (G.height * G.width));
  const std::size_t at_least = (batch + most - 1) / most;
  const std::size_t groups = (at_least + threads - 1) / threads * threads;
  return (batch + groups - 1) / groups;
}

// Adds this group of images' weight gradient (and bias gradient) to dw [Cout, Cin, kh, kw].
template <auto G>
void direct_conv_weight_grad(std::size_t images, const float* x, const float* dy, float* dw) {
  using Plan = DirectConvPlan<G>;
  constexpr std::size_t taps = Plan::taps, cin = G.in_channels, cout = G.out_channels;
  // One kernel row at a time: Rows x kernel_w accumulators, about 24 of the 32 registers.
  constexpr std::size_t row_taps = G.kernel_w;
  constexpr std::size_t rows = std::clamp<std::size_t>(24 / row_taps, 1, 8);
  constexpr std::size_t x_stride = cin * Plan::pixels, dy_stride = cout * Plan::pixels;
  for (std::size_t o0 = 0; o0 < cout; o0 += rows)
    for (std::size_t i = 0; i < cin; ++i)
      for (std::size_t ki = 0; ki < G.kernel_h; ++ki) {
        const float* grad = dy + o0 * Plan::pixels;
        const float* plane = x + i * Plan::pixels;
        float* to = dw + (o0 * cin + i) * taps;
        if (o0 + rows <= cout)
          direct::weight_grad_tile<Plan, rows, row_taps>(grad, plane, images, dy_stride, x_stride,
                                                         to, cin * taps, ki * row_taps);
        else if constexpr (cout % rows != 0)
          direct::weight_grad_tile<Plan, cout % rows, row_taps>(
              grad, plane, images, dy_stride, x_stride, to, cin * taps, ki * row_taps);
      }
}

namespace direct {

// One depthwise plane, Vectors vectors from v0: out[p] = init + sum_t w[t] * in[p + offset_t].
template <class Plan, std::size_t Vectors>
inline void depthwise_tile(const TapTable<Plan::taps, Plan::vectors>& table, const float* w,
                           const float* in, float* out, std::size_t v0, float init) {
  __m512 acc[Vectors];
  STRATA_UNROLL
  for (std::size_t j = 0; j < Vectors; ++j) acc[j] = _mm512_set1_ps(init);
  for (std::size_t t = 0; t < Plan::taps; ++t) {
    const __m512 weight = _mm512_set1_ps(w[t]);
    const float* shifted = in + v0 * lanes + table.offset[t];
    const std::uint16_t* masks = table.mask.data() + t * Plan::vectors + v0;
    STRATA_UNROLL
    for (std::size_t j = 0; j < Vectors; ++j)
      acc[j] =
          _mm512_fmadd_ps(weight, _mm512_maskz_loadu_ps(masks[j], shifted + j * lanes), acc[j]);
  }
  STRATA_UNROLL
  for (std::size_t j = 0; j < Vectors; ++j) {
    float* to = out + (v0 + j) * lanes;
    if (v0 + j + 1 == Plan::vectors)
      _mm512_mask_storeu_ps(to, Plan::tail_mask, acc[j]);
    else
      _mm512_storeu_ps(to, acc[j]);
  }
}

template <class Plan>
inline void depthwise_plane(const TapTable<Plan::taps, Plan::vectors>& table, const float* w,
                            const float* in, float* out, float init) {
  constexpr std::size_t full = Plan::vectors / depthwise_vectors * depthwise_vectors;
  for (std::size_t v0 = 0; v0 < full; v0 += depthwise_vectors)
    depthwise_tile<Plan, depthwise_vectors>(table, w, in, out, v0, init);
  if constexpr (Plan::vectors % depthwise_vectors != 0)
    depthwise_tile<Plan, Plan::vectors % depthwise_vectors>(table, w, in, out, full, init);
}

}  // namespace direct

// Depthwise: y[n][c] = x[n][c] correlated with W[c] (+ bias[c]), one plane per work item.
template <auto G>
void direct_depthwise_forward(std::size_t threads, std::size_t batch, const float* weight,
                              const float* bias, const float* x, float* y) {
  using Plan = DirectConvPlan<G>;
  parallel_for(threads, batch * G.out_channels, [&](std::size_t plane, std::size_t) {
    const std::size_t c = plane % G.out_channels;
    direct::depthwise_plane<Plan>(Plan::forward_table(), weight + c * Plan::taps,
                                  x + plane * Plan::pixels,  // [H, W]
                                  y + plane * Plan::pixels,  // [H, W]
                                  bias ? bias[c] : 0.0f);
  });
}

// dx[n][c] = dy[n][c] correlated backwards with W[c]; dW[c] and dbias[c] reduce dy[n][c] (times
// x[n][c] shifted) over the whole batch in registers, one channel per work item, so no partial
// sums are needed and the result does not depend on the thread count.
template <auto G>
void direct_depthwise_backward(std::size_t threads, std::size_t batch, const float* weight,
                               const float* x, const float* dy, float* dx, float* dweight,
                               float* dbias) {
  using Plan = DirectConvPlan<G>;
  constexpr std::size_t channels = G.out_channels, taps = Plan::taps;
  if (dx)
    parallel_for(threads, batch * channels, [&](std::size_t plane, std::size_t) {
      direct::depthwise_plane<Plan>(Plan::backward_table(), weight + (plane % channels) * taps,
                                    dy + plane * Plan::pixels,  // [H, W]
                                    dx + plane * Plan::pixels,  // [H, W]
                                    0.0f);
    });
  parallel_for(threads, channels, [&](std::size_t c, std::size_t) {
    std::fill_n(dweight + c * taps, taps, 0.0f);
    direct::weight_grad_tile<Plan, 1, taps>(dy + c * Plan::pixels, x + c * Plan::pixels, batch,
                                            channels * Plan::pixels, channels * Plan::pixels,
                                            dweight + c * taps, taps, 0);
    if (!dbias) return;
    float sum = 0;
    for (std::size_t n = 0; n < batch; ++n) {
      const float* plane = dy + (n * channels + c) * Plan::pixels;  // [H, W]
      sum = std::accumulate(plane, plane + Plan::pixels, sum);
    }
    dbias[c] = sum;
  });
}

}  // namespace strata::backend::cpu

#else
#define STRATA_DIRECT_CONV 0
#endif  // __AVX512F__
