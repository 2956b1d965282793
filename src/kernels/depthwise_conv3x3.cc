// Depthwise 3x3 convolution (NCHW, float32) for MindSpore CPU training, as AOT custom ops.
//
// MindSpore's CPU Conv2d with group == channels goes through oneDNN's plain-NCHW path, which
// spends about 60 % of a MobileNetV1 training step at 32x32 (width 0.5, batch 128). Here every
// (image, channel) plane is copied into a zero-padded buffer and convolved row by row (loops the
// compiler vectorises); planes are spread over OpenMP threads. Padding follows MindSpore: "same"
// (TF style, the extra pixel bottom/right) or symmetric (one pixel on every side).
// Built by src/depthwise_cpu.py.
//
// Entry points (MindSpore AOT signature), S1 = stride 1, S2Same / S2Symmetric = stride 2:
//   DepthwiseForward*(x[N,C,H,W], w[C,1,3,3]) -> y[N,C,OH,OW]
//   DepthwiseBackward*(x, w, dy) -> (dx, dw)
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

struct Geometry {
  int64_t n, c, h, w, oh, ow, ph, pw, pad_top, pad_left;
};

Geometry MakeGeometry(const int64_t *x_shape, const int64_t *y_shape, int stride, bool same) {
  Geometry g;
  g.n = x_shape[0]; g.c = x_shape[1]; g.h = x_shape[2]; g.w = x_shape[3];
  g.oh = y_shape[2]; g.ow = y_shape[3];
  g.ph = (g.oh - 1) * stride + 3;
  g.pw = (g.ow - 1) * stride + 3;
  if (same) {
    g.pad_top = std::max<int64_t>(g.ph - g.h, 0) / 2;
    g.pad_left = std::max<int64_t>(g.pw - g.w, 0) / 2;
  } else {
    g.pad_top = 1; g.pad_left = 1;
  }
  return g;
}

// Copies one HxW plane into a zeroed (ph x pw) buffer at (pad_top, pad_left).
void PadPlane(const float *src, const Geometry &g, float *dst) {
  std::fill(dst, dst + g.ph * g.pw, 0.0f);
  const int64_t rows = std::min(g.h, g.ph - g.pad_top);
  const int64_t cols = std::min(g.w, g.pw - g.pad_left);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(dst + (r + g.pad_top) * g.pw + g.pad_left, src + r * g.w, cols * sizeof(float));
  }
}

template <int S>
void Forward(const float *x, const float *w, float *y, const Geometry &g) {
#pragma omp parallel
  {
    std::vector<float> pad(g.ph * g.pw);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < g.n * g.c; ++p) {
      const float *k = w + (p % g.c) * 9;
      PadPlane(x + p * g.h * g.w, g, pad.data());
      float *out = y + p * g.oh * g.ow;
      for (int64_t r = 0; r < g.oh; ++r) {
        float *o = out + r * g.ow;
        for (int64_t q = 0; q < g.ow; ++q) o[q] = 0.0f;
        for (int i = 0; i < 3; ++i) {
          const float *row = pad.data() + (r * S + i) * g.pw;
          const float k0 = k[i * 3], k1 = k[i * 3 + 1], k2 = k[i * 3 + 2];
          for (int64_t q = 0; q < g.ow; ++q) {
            o[q] += k0 * row[q * S] + k1 * row[q * S + 1] + k2 * row[q * S + 2];
          }
        }
      }
    }
  }
}

template <int S>
void Backward(const float *x, const float *w, const float *dy, float *dx, float *dw, const Geometry &g) {
  // Input gradient: scatter dy through the kernel into a padded plane, then crop.
#pragma omp parallel
  {
    std::vector<float> pad(g.ph * g.pw);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < g.n * g.c; ++p) {
      const float *k = w + (p % g.c) * 9;
      const float *grad = dy + p * g.oh * g.ow;
      std::fill(pad.begin(), pad.end(), 0.0f);
      for (int64_t r = 0; r < g.oh; ++r) {
        const float *gr = grad + r * g.ow;
        for (int i = 0; i < 3; ++i) {
          float *row = pad.data() + (r * S + i) * g.pw;
          for (int j = 0; j < 3; ++j) {
            const float kj = k[i * 3 + j];
            float *dst = row + j;
            for (int64_t q = 0; q < g.ow; ++q) dst[q * S] += kj * gr[q];
          }
        }
      }
      float *out = dx + p * g.h * g.w;
      std::fill(out, out + g.h * g.w, 0.0f);
      const int64_t rows = std::min(g.h, g.ph - g.pad_top);
      const int64_t cols = std::min(g.w, g.pw - g.pad_left);
      for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(out + r * g.w, pad.data() + (r + g.pad_top) * g.pw + g.pad_left, cols * sizeof(float));
      }
    }
  }
  // Weight gradient: per channel, correlate the padded input with dy over the batch.
#pragma omp parallel
  {
    std::vector<float> pad(g.ph * g.pw);
#pragma omp for schedule(static)
    for (int64_t c = 0; c < g.c; ++c) {
      double acc[9] = {0};
      for (int64_t n = 0; n < g.n; ++n) {
        const int64_t p = n * g.c + c;
        PadPlane(x + p * g.h * g.w, g, pad.data());
        const float *grad = dy + p * g.oh * g.ow;
        float part[9] = {0};
        for (int64_t r = 0; r < g.oh; ++r) {
          const float *gr = grad + r * g.ow;
          for (int i = 0; i < 3; ++i) {
            const float *row = pad.data() + (r * S + i) * g.pw;
            float s0 = 0, s1 = 0, s2 = 0;
            for (int64_t q = 0; q < g.ow; ++q) {
              s0 += gr[q] * row[q * S];
              s1 += gr[q] * row[q * S + 1];
              s2 += gr[q] * row[q * S + 2];
            }
            part[i * 3] += s0; part[i * 3 + 1] += s1; part[i * 3 + 2] += s2;
          }
        }
        for (int t = 0; t < 9; ++t) acc[t] += part[t];
      }
      for (int t = 0; t < 9; ++t) dw[c * 9 + t] = static_cast<float>(acc[t]);
    }
  }
}

bool AllFloat32(int nparam, const char **dtypes) {
  for (int i = 0; i < nparam; ++i) {
    if (std::strcmp(dtypes[i], "float32") != 0) return false;
  }
  return true;
}

template <int S, bool SAME>
int ForwardOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  if (nparam != 3 || ndims[0] != 4 || !AllFloat32(nparam, dtypes)) return 1;
  const Geometry g = MakeGeometry(shapes[0], shapes[2], S, SAME);
  Forward<S>(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
             static_cast<float *>(params[2]), g);
  return 0;
}

template <int S, bool SAME>
int BackwardOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  // inputs: x, w, dy; outputs: dx, dw
  if (nparam != 5 || ndims[0] != 4 || !AllFloat32(nparam, dtypes)) return 1;
  const Geometry g = MakeGeometry(shapes[0], shapes[2], S, SAME);
  Backward<S>(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
              static_cast<const float *>(params[2]), static_cast<float *>(params[3]),
              static_cast<float *>(params[4]), g);
  return 0;
}

}  // namespace

#define MS_AOT_ARGS int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *, void *
extern "C" {
int DepthwiseForwardS1(MS_AOT_ARGS) { return ForwardOp<1, true>(nparam, params, ndims, shapes, dtypes); }
int DepthwiseForwardS2Same(MS_AOT_ARGS) { return ForwardOp<2, true>(nparam, params, ndims, shapes, dtypes); }
int DepthwiseForwardS2Symmetric(MS_AOT_ARGS) { return ForwardOp<2, false>(nparam, params, ndims, shapes, dtypes); }
int DepthwiseBackwardS1(MS_AOT_ARGS) { return BackwardOp<1, true>(nparam, params, ndims, shapes, dtypes); }
int DepthwiseBackwardS2Same(MS_AOT_ARGS) { return BackwardOp<2, true>(nparam, params, ndims, shapes, dtypes); }
int DepthwiseBackwardS2Symmetric(MS_AOT_ARGS) { return BackwardOp<2, false>(nparam, params, ndims, shapes, dtypes); }
}
