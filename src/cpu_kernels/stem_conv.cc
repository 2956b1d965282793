// The stem, the dense 3x3 convolution of the image (NCHW, float32), for MindSpore CPU training, as
// AOT custom ops.
//
// Each image is unrolled into cols[Ci*9, P] (row (c, i, j) holds tap (i, j) of channel c for all
// P = OH*OW output pixels, zero where the window leaves the image), so that the forward is one
// product y[Co, P] = w[Co, Ci*9] x cols, the weight gradient dy x cols^T summed over the images, and
// the input gradient w^T x dy folded back onto the image. The rows follow w's (Co, Ci, 3, 3) order:
// no weight is reordered. On AVX-512 CPUs MindSpore's oneDNN runs this convolution with its
// reference kernel unless capped at AVX2, a cap that also slows every sgemm (isa.py); with this
// kernel no convolution is left to oneDNN. Products on oneDNN's sgemm (sgemm.h), images split over
// OpenMP threads. Built by build.py; stem.py wraps it.
//
// Entry points (MindSpore AOT signature), <S> = S1, S2Same, S2Symmetric:
//   StemForward<S>(x[N,Ci,H,W], w[Co,Ci,3,3]) -> y[N,Co,OH,OW]
//   StemBackward<S>(x, w, dy) -> (dx, dw)
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

struct Shape {
  int64_t n, ci, co, h, w;
};

// cols[(c*3 + i)*3 + j][r*OW + q] = x[c][r*S + i - pad][q*S + j - pad] (0 outside) for one image.
template <int S>
void Unroll(const float *x, int64_t ci, const Axis &rows, const Axis &cols, float *out) {
  const int64_t plane = rows.out * cols.out;
  for (int64_t c = 0; c < ci; ++c) {
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        float *tap = out + ((c * 3 + i) * 3 + j) * plane;
        for (int64_t r = 0; r < rows.out; ++r) {
          const int64_t row = r * S + i - rows.pad;
          float *line = tap + r * cols.out;
          if (row < 0 || row >= rows.in) {
            std::fill(line, line + cols.out, 0.0f);
            continue;
          }
          const float *source = x + (c * rows.in + row) * cols.in;
          for (int64_t q = 0; q < cols.out; ++q) {
            const int64_t col = q * S + j - cols.pad;
            line[q] = col >= 0 && col < cols.in ? source[col] : 0.0f;
          }
        }
      }
    }
  }
}

// The transpose of Unroll for one image: dx = the sum of every tap's gradient at the pixel it read.
template <int S>
void Fold(const float *dcols, int64_t ci, const Axis &rows, const Axis &cols, float *dx) {
  const int64_t plane = rows.out * cols.out;
  std::fill(dx, dx + ci * rows.in * cols.in, 0.0f);
  for (int64_t c = 0; c < ci; ++c) {
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        const float *tap = dcols + ((c * 3 + i) * 3 + j) * plane;
        for (int64_t r = 0; r < rows.out; ++r) {
          const int64_t row = r * S + i - rows.pad;
          if (row < 0 || row >= rows.in) continue;
          float *target = dx + (c * rows.in + row) * cols.in;
          const float *line = tap + r * cols.out;
          for (int64_t q = 0; q < cols.out; ++q) {
            const int64_t col = q * S + j - cols.pad;
            if (col >= 0 && col < cols.in) target[col] += line[q];
          }
        }
      }
    }
  }
}

template <int S, bool SAME>
int Forward(const float *x, const float *w, float *y, const Shape &s) {
  const Axis rows = WindowAxis<S, SAME>(s.h), cols = WindowAxis<S, SAME>(s.w);
  const int64_t plane = rows.out * cols.out, k = 9 * s.ci;
  int failures = 0;
#pragma omp parallel reduction(+ : failures)
  {
    std::vector<float> unrolled(k * plane);
#pragma omp for schedule(static)
    for (int64_t img = 0; img < s.n; ++img) {
      Unroll<S>(x + img * s.ci * s.h * s.w, s.ci, rows, cols, unrolled.data());
      failures += sgemm::Sgemm('N', 'N', s.co, plane, k, w, k, unrolled.data(), plane, 0.0f,
                               y + img * s.co * plane, plane);
    }
  }
  return failures;
}

template <int S, bool SAME>
int Backward(const float *x, const float *w, const float *dy, float *dx, float *dw, const Shape &s) {
  const Axis rows = WindowAxis<S, SAME>(s.h), cols = WindowAxis<S, SAME>(s.w);
  const int64_t plane = rows.out * cols.out, k = 9 * s.ci, size = s.co * k;
  std::vector<float> partial(static_cast<size_t>(omp_get_max_threads()) * size, 0.0f);  // dw of each thread
  int failures = 0;
#pragma omp parallel reduction(+ : failures)
  {
    std::vector<float> unrolled(k * plane), gradient(k * plane);
    float *mine = partial.data() + omp_get_thread_num() * size;
#pragma omp for schedule(static)
    for (int64_t img = 0; img < s.n; ++img) {
      const float *dy_img = dy + img * s.co * plane;
      Unroll<S>(x + img * s.ci * s.h * s.w, s.ci, rows, cols, unrolled.data());
      failures += sgemm::Sgemm('N', 'T', s.co, k, plane, dy_img, plane, unrolled.data(), plane, 1.0f, mine, k);
      failures += sgemm::Sgemm('T', 'N', k, plane, s.co, w, k, dy_img, plane, 0.0f, gradient.data(), plane);
      Fold<S>(gradient.data(), s.ci, rows, cols, dx + img * s.ci * s.h * s.w);
    }
  }
  std::fill(dw, dw + size, 0.0f);
  for (size_t t = 0; t < partial.size() / size; ++t) {
    for (int64_t e = 0; e < size; ++e) dw[e] += partial[t * size + e];
  }
  return failures;
}

// x[N,Ci,H,W] and w[Co,Ci,3,3], float32, with `count` inputs and outputs in all.
bool ReadShape(int nparam, int count, int *ndims, int64_t **shapes, const char **dtypes, Shape *s) {
  if (nparam != count || ndims[0] != 4 || ndims[1] != 4 || !aot_op::AllFloat32(nparam, dtypes)) return false;
  if (shapes[1][1] != shapes[0][1] || shapes[1][2] != 3 || shapes[1][3] != 3) return false;
  *s = {shapes[0][0], shapes[0][1], shapes[1][0], shapes[0][2], shapes[0][3]};
  return true;
}

template <int S, bool SAME>
int ForwardOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  Shape s;  // inputs: x, w; output: y
  if (!ReadShape(nparam, 3, ndims, shapes, dtypes, &s)) return 1;
  return Forward<S, SAME>(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
                          static_cast<float *>(params[2]), s) == 0 ? 0 : 1;
}

template <int S, bool SAME>
int BackwardOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  Shape s;  // inputs: x, w, dy; outputs: dx, dw
  if (!ReadShape(nparam, 5, ndims, shapes, dtypes, &s)) return 1;
  return Backward<S, SAME>(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
                           static_cast<const float *>(params[2]), static_cast<float *>(params[3]),
                           static_cast<float *>(params[4]), s) == 0 ? 0 : 1;
}

}  // namespace

#define STEM_ENTRY_POINTS(VARIANT, S, SAME)                                                                \
  int StemForward##VARIANT(MS_AOT_ARGS) { return ForwardOp<S, SAME>(nparam, params, ndims, shapes, dtypes); } \
  int StemBackward##VARIANT(MS_AOT_ARGS) { return BackwardOp<S, SAME>(nparam, params, ndims, shapes, dtypes); }

extern "C" {
STEM_ENTRY_POINTS(S1, 1, true)
STEM_ENTRY_POINTS(S2Same, 2, true)
STEM_ENTRY_POINTS(S2Symmetric, 2, false)
}
