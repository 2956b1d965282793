// Depthwise 3x3 convolution (NCHW, float32) for MindSpore CPU training, as AOT custom ops.
//
// MindSpore's CPU Conv2d with group == channels goes through oneDNN's plain-NCHW path, which
// spends about 60 % of a MobileNetV1 training step at 32x32 (width 0.5, batch 128). Here every
// (image, channel) plane is copied into a zero-padded buffer and convolved row by row (loops the
// compiler vectorises); planes are spread over OpenMP threads. Padding follows MindSpore: "same"
// (TF style, the extra pixel bottom/right) or symmetric (one pixel on every side).
// Built by build.py; depthwise.py wraps it.
//
// Entry points (MindSpore AOT signature), S1 = stride 1, S2Same / S2Symmetric = stride 2:
//   DepthwiseForward*(x[N,C,H,W], w[C,1,3,3]) -> y[N,C,OH,OW]
//   DepthwiseBackward*(x, w, dy) -> (dx, dw)
#include <algorithm>
#include <cstdint>
#include <vector>

#include "aot_op.h"

namespace {

// Geometry of one plane: input, output and zero-padded buffer sizes, padding before the image.
struct Geometry {
  int64_t h, w, oh, ow, ph, pw, pad_top, pad_left;
};

constexpr Geometry PlaneGeometry(int64_t h, int64_t w, int64_t stride, bool same) {
  const int64_t oh = same ? (h + stride - 1) / stride : (h - 1) / stride + 1;
  const int64_t ow = same ? (w + stride - 1) / stride : (w - 1) / stride + 1;
  const int64_t ph = (oh - 1) * stride + 3, pw = (ow - 1) * stride + 3;
  return {h, w, oh, ow, ph, pw, same ? std::max<int64_t>(ph - h, 0) / 2 : 1,
          same ? std::max<int64_t>(pw - w, 0) / 2 : 1};
}

// The same geometry as compile-time constants (square planes of the sizes MobileNetV1 meets at
// 32x32 and 224x224 inputs): every loop below then has constant bounds, which the compiler
// unrolls. On the 2x2 to 8x8 planes of a 32x32 network the per-plane loop overhead was most of
// the backward pass.
template <int S, bool SAME, int H>
struct FixedGeometry {
  static constexpr Geometry kPlane = PlaneGeometry(H, H, S, SAME);
  static constexpr int64_t h = kPlane.h, w = kPlane.w, oh = kPlane.oh, ow = kPlane.ow;
  static constexpr int64_t ph = kPlane.ph, pw = kPlane.pw, pad_top = kPlane.pad_top, pad_left = kPlane.pad_left;
};

// Copies one HxW plane into a zeroed (ph x pw) buffer at (pad_top, pad_left).
template <class G>
inline void PadPlane(const float *src, const G &g, float *dst) {
  for (int64_t i = 0; i < g.ph * g.pw; ++i) dst[i] = 0.0f;
  const int64_t rows = std::min<int64_t>(g.h, g.ph - g.pad_top);
  const int64_t cols = std::min<int64_t>(g.w, g.pw - g.pad_left);
  for (int64_t r = 0; r < rows; ++r) {
    float *d = dst + (r + g.pad_top) * g.pw + g.pad_left;
    const float *s = src + r * g.w;
    for (int64_t q = 0; q < cols; ++q) d[q] = s[q];
  }
}

// One output plane: y = x (padded) correlated with the 3x3 kernel k.
template <int S, class G>
inline void ForwardPlane(const float *x, const float *k, float *y, float *pad, const G &g) {
  PadPlane(x, g, pad);
  for (int64_t r = 0; r < g.oh; ++r) {
    float *o = y + r * g.ow;
    for (int64_t q = 0; q < g.ow; ++q) o[q] = 0.0f;
    for (int i = 0; i < 3; ++i) {
      const float *row = pad + (r * S + i) * g.pw;
      const float k0 = k[i * 3], k1 = k[i * 3 + 1], k2 = k[i * 3 + 2];
      for (int64_t q = 0; q < g.ow; ++q) {
        o[q] += k0 * row[q * S] + k1 * row[q * S + 1] + k2 * row[q * S + 2];
      }
    }
  }
}

// One input-gradient plane: scatter dy through the kernel into a padded plane, then crop.
template <int S, class G>
inline void InputGradPlane(const float *grad, const float *k, float *dx, float *pad, const G &g) {
  for (int64_t i = 0; i < g.ph * g.pw; ++i) pad[i] = 0.0f;
  for (int64_t r = 0; r < g.oh; ++r) {
    const float *gr = grad + r * g.ow;
    for (int i = 0; i < 3; ++i) {
      float *row = pad + (r * S + i) * g.pw;
      for (int j = 0; j < 3; ++j) {
        const float kj = k[i * 3 + j];
        float *dst = row + j;
        for (int64_t q = 0; q < g.ow; ++q) dst[q * S] += kj * gr[q];
      }
    }
  }
  for (int64_t i = 0; i < g.h * g.w; ++i) dx[i] = 0.0f;
  const int64_t rows = std::min<int64_t>(g.h, g.ph - g.pad_top);
  const int64_t cols = std::min<int64_t>(g.w, g.pw - g.pad_left);
  for (int64_t r = 0; r < rows; ++r) {
    const float *s = pad + (r + g.pad_top) * g.pw + g.pad_left;
    for (int64_t q = 0; q < cols; ++q) dx[r * g.w + q] = s[q];
  }
}

// Adds one plane's contribution to the 3x3 weight gradient: x (padded) correlated with dy.
template <int S, class G>
inline void WeightGradPlane(const float *x, const float *grad, float *pad, float *part, const G &g) {
  PadPlane(x, g, pad);
  for (int64_t r = 0; r < g.oh; ++r) {
    const float *gr = grad + r * g.ow;
    for (int i = 0; i < 3; ++i) {
      const float *row = pad + (r * S + i) * g.pw;
      float s0 = 0, s1 = 0, s2 = 0;
      for (int64_t q = 0; q < g.ow; ++q) {
        s0 += gr[q] * row[q * S];
        s1 += gr[q] * row[q * S + 1];
        s2 += gr[q] * row[q * S + 2];
      }
      part[i * 3] += s0; part[i * 3 + 1] += s1; part[i * 3 + 2] += s2;
    }
  }
}

// 1x1 planes (the last layers of a 32x32 network): every padding puts the pixel under the centre tap.
constexpr int kCentre = 4;

// The backward on 1x1 planes: only the centre tap acts.
inline void BackwardOfPixels(const float *x, const float *w, const float *dy, float *dx, float *dw, int64_t n,
                             int64_t c) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) dx[i * c + ch] = dy[i * c + ch] * w[ch * 9 + kCentre];
  }
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    double acc = 0.0;
    for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(x[i * c + ch]) * dy[i * c + ch];
    for (int t = 0; t < 9; ++t) dw[ch * 9 + t] = 0.0f;
    dw[ch * 9 + kCentre] = static_cast<float>(acc);
  }
}

template <int S, class G>
void Forward(const float *x, const float *w, float *y, int64_t n, int64_t c, const G &g) {
  if (g.h == 1 && g.w == 1) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t ch = 0; ch < c; ++ch) y[i * c + ch] = x[i * c + ch] * w[ch * 9 + kCentre];
    }
    return;
  }
#pragma omp parallel
  {
    std::vector<float> pad(g.ph * g.pw);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < n * c; ++p) {
      ForwardPlane<S>(x + p * g.h * g.w, w + (p % c) * 9, y + p * g.oh * g.ow, pad.data(), g);
    }
  }
}

template <int S, class G>
void Backward(const float *x, const float *w, const float *dy, float *dx, float *dw, int64_t n, int64_t c,
              const G &g) {
  if (g.h == 1 && g.w == 1) {
    BackwardOfPixels(x, w, dy, dx, dw, n, c);
    return;
  }
#pragma omp parallel
  {
    std::vector<float> pad(g.ph * g.pw);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < n * c; ++p) {
      const float *k = w + (p % c) * 9;
      if (S == 1) {  // the input gradient is dy correlated with the flipped kernel: the forward's loops
        const float flipped[9] = {k[8], k[7], k[6], k[5], k[4], k[3], k[2], k[1], k[0]};
        ForwardPlane<1>(dy + p * g.oh * g.ow, flipped, dx + p * g.h * g.w, pad.data(), g);
      } else {
        InputGradPlane<S>(dy + p * g.oh * g.ow, k, dx + p * g.h * g.w, pad.data(), g);
      }
    }
    // Weight gradient: one channel per iteration, summed over the batch.
#pragma omp for schedule(static)
    for (int64_t ch = 0; ch < c; ++ch) {
      double acc[9] = {0};
      for (int64_t i = 0; i < n; ++i) {
        const int64_t p = i * c + ch;
        float part[9] = {0};
        WeightGradPlane<S>(x + p * g.h * g.w, dy + p * g.oh * g.ow, pad.data(), part, g);
        for (int t = 0; t < 9; ++t) acc[t] += part[t];
      }
      for (int t = 0; t < 9; ++t) dw[ch * 9 + t] = static_cast<float>(acc[t]);
    }
  }
}

// Runs `run` with the compile-time geometry of this plane size when there is one, else the run-time one.
template <int S, bool SAME, class Run>
void WithGeometry(const int64_t *x_shape, Run run) {
  const Geometry g = PlaneGeometry(x_shape[2], x_shape[3], S, SAME);
  if (g.h == g.w) {
    switch (g.h) {
      case 2: return run(FixedGeometry<S, SAME, 2>());
      case 4: return run(FixedGeometry<S, SAME, 4>());
      case 7: return run(FixedGeometry<S, SAME, 7>());
      case 8: return run(FixedGeometry<S, SAME, 8>());
      case 14: return run(FixedGeometry<S, SAME, 14>());
      case 16: return run(FixedGeometry<S, SAME, 16>());
      case 28: return run(FixedGeometry<S, SAME, 28>());
      case 32: return run(FixedGeometry<S, SAME, 32>());
      default: break;
    }
  }
  run(g);
}

template <int S, bool SAME>
int ForwardOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  // inputs: x, w; output: y
  if (nparam != 3 || ndims[0] != 4 || !aot_op::AllFloat32(nparam, dtypes)) return 1;
  const auto *x = static_cast<const float *>(params[0]);
  const auto *w = static_cast<const float *>(params[1]);
  auto *y = static_cast<float *>(params[2]);
  const int64_t n = shapes[0][0], c = shapes[0][1];
  WithGeometry<S, SAME>(shapes[0], [&](const auto &g) { Forward<S>(x, w, y, n, c, g); });
  return 0;
}

template <int S, bool SAME>
int BackwardOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  // inputs: x, w, dy; outputs: dx, dw
  if (nparam != 5 || ndims[0] != 4 || !aot_op::AllFloat32(nparam, dtypes)) return 1;
  const auto *x = static_cast<const float *>(params[0]);
  const auto *w = static_cast<const float *>(params[1]);
  const auto *dy = static_cast<const float *>(params[2]);
  auto *dx = static_cast<float *>(params[3]);
  auto *dw = static_cast<float *>(params[4]);
  const int64_t n = shapes[0][0], c = shapes[0][1];
  WithGeometry<S, SAME>(shapes[0], [&](const auto &g) { Backward<S>(x, w, dy, dx, dw, n, c, g); });
  return 0;
}

}  // namespace

extern "C" {
int DepthwiseForwardS1(MS_AOT_ARGS) { return ForwardOp<1, true>(nparam, params, ndims, shapes, dtypes); }
int DepthwiseForwardS2Same(MS_AOT_ARGS) { return ForwardOp<2, true>(nparam, params, ndims, shapes, dtypes); }
int DepthwiseForwardS2Symmetric(MS_AOT_ARGS) { return ForwardOp<2, false>(nparam, params, ndims, shapes, dtypes); }
int DepthwiseBackwardS1(MS_AOT_ARGS) { return BackwardOp<1, true>(nparam, params, ndims, shapes, dtypes); }
int DepthwiseBackwardS2Same(MS_AOT_ARGS) { return BackwardOp<2, true>(nparam, params, ndims, shapes, dtypes); }
int DepthwiseBackwardS2Symmetric(MS_AOT_ARGS) { return BackwardOp<2, false>(nparam, params, ndims, shapes, dtypes); }
}
