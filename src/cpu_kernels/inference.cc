// MobileNetV1's inference forward on CPU (float32), BatchNorm folded into each convolution, as
// MindSpore AOT custom ops: every block is one op, convolution + bias + ReLU6/ReLU.
//
// Activations between the blocks are channels-last, [N, H, W, C]. A 1x1 convolution is then one
// matrix product X[N*H*W, Ci] x W^T for the whole batch, the stem one product per block of
// unrolled pixels, and the depthwise 3x3 convolutions run pixel by pixel with the channels as the
// vector axis, which stays wide on the 2x2 and 1x1 planes at the end of a 32x32 network where
// per-plane (NCHW) loops are all overhead. The stem reads the NCHW input; inference.py pools the
// last [N, H, W, C] output.
// The 3x3 filters arrive as [3, 3, Ci, Co] (stem) and [3, 3, C, 1] (depthwise): inference.py
// lays them out so when it folds them. Products run on oneDNN's sgemm (sgemm.h).
// Built by build.py; inference.py wraps it.
//
// Entry points (MindSpore AOT signature), <Act> = ReLU6 or ReLU, <S> = S1, S2Same, S2Symmetric:
//   InferStem<S><Act>(x[N,Ci,H,W], w[3,3,Ci,Co], b[Co]) -> y[N,OH,OW,Co]
//   InferDepthwise<S><Act>(x[N,H,W,C], w[3,3,C,1], b[C]) -> y[N,OH,OW,C]
//   InferPointwise<Act>(x[N,H,W,Ci], w[Co,Ci,1,1], b[Co]) -> y[N,H,W,Co]
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "aot_op.h"
#include "sgemm.h"
#include "window.h"

namespace {

using window::Axis;
using window::WindowAxis;

// ReLU6 or ReLU of one value.
template <bool RELU6>
inline float Activate(float v) {
  v = std::max(v, 0.0f);
  return RELU6 ? std::min(v, 6.0f) : v;
}

template <bool RELU6>
inline void BiasActivate(float *__restrict__ y, const float *__restrict__ b, int64_t c) {
#pragma omp simd
  for (int64_t k = 0; k < c; ++k) y[k] = Activate<RELU6>(y[k] + b[k]);
}

// Output pixels per unrolled block of the stem: 256 x 27 floats stay in the L1/L2 cache.
constexpr int64_t kStemBlock = 256;

// The stem as matrix products: each thread unrolls blocks of output pixels into rows of their 27
// (tap, channel) inputs, [pixels, 9*Ci] x w[9*Ci, Co], then adds the bias and activates.
template <int S, bool SAME, bool RELU6>
int Stem(const float *x, const float *w, const float *b, float *y, int64_t n, int64_t ci, int64_t co, int64_t h,
         int64_t wd) {
  const Axis rows = WindowAxis<S, SAME>(h), cols = WindowAxis<S, SAME>(wd);
  const int64_t plane = rows.out * cols.out, pixels = n * plane, k = 9 * ci;
  const int64_t blocks = (pixels + kStemBlock - 1) / kStemBlock;
  int failures = 0;
#pragma omp parallel reduction(+ : failures)
  {
    std::vector<float> unrolled(kStemBlock * k);
#pragma omp for schedule(static)
    for (int64_t block = 0; block < blocks; ++block) {
      const int64_t lo = block * kStemBlock, hi = std::min(pixels, lo + kStemBlock);
      for (int64_t p = lo; p < hi; ++p) {
        const int64_t img = p / plane, r = p % plane / cols.out, q = p % cols.out;
        float *row_out = unrolled.data() + (p - lo) * k;
        for (int i = 0; i < 3; ++i) {
          const int64_t row = r * S + i - rows.pad;
          for (int j = 0; j < 3; ++j) {
            const int64_t col = q * S + j - cols.pad;
            const bool inside = row >= 0 && row < h && col >= 0 && col < wd;
            for (int64_t c = 0; c < ci; ++c) {
              row_out[(i * 3 + j) * ci + c] = inside ? x[((img * ci + c) * h + row) * wd + col] : 0.0f;
            }
          }
        }
      }
      failures += sgemm::Sgemm('N', 'N', hi - lo, co, k, unrolled.data(), k, w, co, 0.0f, y + lo * co, co);
      for (int64_t p = lo; p < hi; ++p) BiasActivate<RELU6>(y + p * co, b, co);
    }
  }
  return failures;
}

// The depthwise kernel takes the channels in blocks of B (64 on small planes, 16, 8, then 1): a
// block's 9 filter taps and bias stay in registers while it sweeps a row of output pixels, and each
// output vector is its bias plus up to 9 products, written once.
template <int B, bool FULL, bool RELU6>
inline void DepthwisePixel(const float (&taps)[9][B], const float (&bias)[B], const float *x, int64_t wd, int64_t c,
                           int64_t row0, int64_t col0, int i_lo, int i_hi, int j_lo, int j_hi, float *out) {
  float acc[B];
#pragma omp simd
  for (int l = 0; l < B; ++l) acc[l] = bias[l];
  // FULL: the whole window inside the image (compile-time bounds: unrolled, no checks)
  for (int i = FULL ? 0 : i_lo; i < (FULL ? 3 : i_hi); ++i) {
    for (int j = FULL ? 0 : j_lo; j < (FULL ? 3 : j_hi); ++j) {
      const float *v = x + ((row0 + i) * wd + col0 + j) * c;
#pragma omp simd
      for (int l = 0; l < B; ++l) acc[l] += taps[i * 3 + j][l] * v[l];
    }
  }
#pragma omp simd
  for (int l = 0; l < B; ++l) out[l] = Activate<RELU6>(acc[l]);
}

// Output rows [r_lo, r_hi) of one image for B channels (x, w, b, y offset to the block's first).
template <int B, int S, bool RELU6>
void DepthwiseRows(const float *x, const float *w, const float *b, float *y, int64_t h, int64_t wd, int64_t c,
                   const Axis &rows, const Axis &cols, int64_t r_lo, int64_t r_hi) {
  float taps[9][B], bias[B];
  for (int t = 0; t < 9; ++t) {
    for (int l = 0; l < B; ++l) taps[t][l] = w[t * c + l];
  }
  for (int l = 0; l < B; ++l) bias[l] = b[l];
  for (int64_t r = r_lo; r < r_hi; ++r) {
    const int64_t row0 = r * S - rows.pad;
    const int i_lo = static_cast<int>(std::max<int64_t>(0, -row0));
    const int i_hi = static_cast<int>(std::min<int64_t>(3, h - row0));
    const bool full_rows = i_lo == 0 && i_hi == 3;
    float *out = y + r * cols.out * c;
    for (int64_t q = 0; q < cols.out; ++q) {
      const int64_t col0 = q * S - cols.pad;
      const int j_lo = static_cast<int>(std::max<int64_t>(0, -col0));
      const int j_hi = static_cast<int>(std::min<int64_t>(3, wd - col0));
      if (full_rows && j_lo == 0 && j_hi == 3) {
        DepthwisePixel<B, true, RELU6>(taps, bias, x, wd, c, row0, col0, 0, 3, 0, 3, out + q * c);
      } else {
        DepthwisePixel<B, false, RELU6>(taps, bias, x, wd, c, row0, col0, i_lo, i_hi, j_lo, j_hi, out + q * c);
      }
    }
  }
}

// Rows [r_lo, r_hi) of image `img`, every channel block; blocks of 64 first when `wide`.
template <int S, bool RELU6>
void DepthwiseImageRows(const float *x, const float *w, const float *b, float *y, int64_t h, int64_t wd, int64_t c,
                        const Axis &rows, const Axis &cols, int64_t img, int64_t r_lo, int64_t r_hi, bool wide) {
  const float *image = x + img * h * wd * c;
  float *out = y + img * rows.out * cols.out * c;
  int64_t k = 0;
  for (; wide && k + 64 <= c; k += 64) {
    DepthwiseRows<64, S, RELU6>(image + k, w + k, b + k, out + k, h, wd, c, rows, cols, r_lo, r_hi);
  }
  for (; k + 16 <= c; k += 16) {
    DepthwiseRows<16, S, RELU6>(image + k, w + k, b + k, out + k, h, wd, c, rows, cols, r_lo, r_hi);
  }
  for (; k + 8 <= c; k += 8) {
    DepthwiseRows<8, S, RELU6>(image + k, w + k, b + k, out + k, h, wd, c, rows, cols, r_lo, r_hi);
  }
  for (; k < c; ++k) DepthwiseRows<1, S, RELU6>(image + k, w + k, b + k, out + k, h, wd, c, rows, cols, r_lo, r_hi);
}

// Planes of at most this many output pixels are one task per image, in blocks of 64 channels
// (measured faster there: fewer, longer vectors per pixel); larger ones one task per row.
constexpr int64_t kWholePlanePixels = 64;

// Depthwise 3x3, channels-last.
template <int S, bool SAME, bool RELU6>
void Depthwise(const float *x, const float *w, const float *b, float *y, int64_t n, int64_t h, int64_t wd,
               int64_t c) {
  const Axis rows = WindowAxis<S, SAME>(h), cols = WindowAxis<S, SAME>(wd);
  if (rows.out * cols.out <= kWholePlanePixels) {
#pragma omp parallel for schedule(static)
    for (int64_t img = 0; img < n; ++img) {
      DepthwiseImageRows<S, RELU6>(x, w, b, y, h, wd, c, rows, cols, img, 0, rows.out, true);
    }
    return;
  }
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t img = 0; img < n; ++img) {
    for (int64_t r = 0; r < rows.out; ++r) {
      DepthwiseImageRows<S, RELU6>(x, w, b, y, h, wd, c, rows, cols, img, r, r + 1, false);
    }
  }
}

// y[P, Co] = act(x[P, Ci] w^T + b), the pixels split over threads, each finishing its own rows.
template <bool RELU6>
int Pointwise(const float *x, const float *w, const float *b, float *y, int64_t pixels, int64_t ci, int64_t co) {
  int failures = 0;
#pragma omp parallel reduction(+ : failures)
  {
    int64_t lo, hi;
    sgemm::Share(pixels, 16, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    if (hi > lo) {
      failures += sgemm::Sgemm('N', 'T', hi - lo, co, ci, x + lo * ci, ci, w, ci, 0.0f, y + lo * co, co);
      for (int64_t p = lo; p < hi; ++p) BiasActivate<RELU6>(y + p * co, b, co);
    }
  }
  return failures;
}

// The three inputs (x, w, b) and one output of every entry point: float32, 4-D x and w, 1-D b.
inline bool Valid(int nparam, int *ndims, const char **dtypes) {
  return nparam == 4 && ndims[0] == 4 && ndims[1] == 4 && ndims[2] == 1 && aot_op::AllFloat32(nparam, dtypes);
}

template <int S, bool SAME, bool RELU6>
int StemOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  // x[N,Ci,H,W], w[3,3,Ci,Co]
  if (!Valid(nparam, ndims, dtypes) || shapes[1][0] != 3 || shapes[1][1] != 3 || shapes[1][2] != shapes[0][1]) {
    return 1;
  }
  return Stem<S, SAME, RELU6>(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
                              static_cast<const float *>(params[2]), static_cast<float *>(params[3]), shapes[0][0],
                              shapes[0][1], shapes[1][3], shapes[0][2], shapes[0][3]) == 0 ? 0 : 1;
}

template <int S, bool SAME, bool RELU6>
int DepthwiseOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  // x[N,H,W,C], w[3,3,C,1]
  if (!Valid(nparam, ndims, dtypes) || shapes[1][0] != 3 || shapes[1][1] != 3 || shapes[1][2] != shapes[0][3]) {
    return 1;
  }
  Depthwise<S, SAME, RELU6>(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
                            static_cast<const float *>(params[2]), static_cast<float *>(params[3]), shapes[0][0],
                            shapes[0][1], shapes[0][2], shapes[0][3]);
  return 0;
}

template <bool RELU6>
int PointwiseOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  // x[N,H,W,Ci], w[Co,Ci,1,1]
  if (!Valid(nparam, ndims, dtypes) || shapes[1][1] != shapes[0][3]) return 1;
  return Pointwise<RELU6>(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
                          static_cast<const float *>(params[2]), static_cast<float *>(params[3]),
                          shapes[0][0] * shapes[0][1] * shapes[0][2], shapes[0][3], shapes[1][0]) == 0 ? 0 : 1;
}

}  // namespace

// The three strides/paddings of one kind of 3x3 block in one activation.
#define INFER_WINDOWED(KIND, ACT, RELU6)                                                       \
  int Infer##KIND##S1##ACT(MS_AOT_ARGS) {                                                      \
    return KIND##Op<1, true, RELU6>(nparam, params, ndims, shapes, dtypes);                    \
  }                                                                                            \
  int Infer##KIND##S2Same##ACT(MS_AOT_ARGS) {                                                  \
    return KIND##Op<2, true, RELU6>(nparam, params, ndims, shapes, dtypes);                    \
  }                                                                                            \
  int Infer##KIND##S2Symmetric##ACT(MS_AOT_ARGS) {                                             \
    return KIND##Op<2, false, RELU6>(nparam, params, ndims, shapes, dtypes);                   \
  }

extern "C" {
INFER_WINDOWED(Stem, ReLU6, true)
INFER_WINDOWED(Stem, ReLU, false)
INFER_WINDOWED(Depthwise, ReLU6, true)
INFER_WINDOWED(Depthwise, ReLU, false)
int InferPointwiseReLU6(MS_AOT_ARGS) { return PointwiseOp<true>(nparam, params, ndims, shapes, dtypes); }
int InferPointwiseReLU(MS_AOT_ARGS) { return PointwiseOp<false>(nparam, params, ndims, shapes, dtypes); }
}
