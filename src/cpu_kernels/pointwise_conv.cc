// Pointwise (1x1, stride 1) convolution (NCHW, float32) for MindSpore CPU training, as AOT custom ops.
//
// A 1x1 convolution is one matrix product per image, W[Co,Ci] x X_n[Ci,P] with P = H*W pixels.
// MindSpore's CPU Conv2d runs it image by image, which suits large planes but wastes most of the
// time on the 4x4 and 2x2 planes of a 32x32 network, where P is 16 or 4 and the products are thin.
// There the images are first gathered into one [Ci, N*P] matrix, so the whole batch is a single
// well-shaped product; large planes keep one product per image. The products run on oneDNN's
// sgemm from the libdnnl that MindSpore ships (no other library needed), split over OpenMP threads.
// Built by build.py; pointwise.py wraps it.
//
// Entry points (MindSpore AOT signature):
//   PointwiseForward(x[N,Ci,H,W], w[Co,Ci,1,1]) -> y[N,Co,H,W]
//   PointwiseBackward(x, w, dy) -> (dx, dw)
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "aot_op.h"
#include "sgemm.h"

namespace {

using sgemm::ColumnSplitGemm;
using sgemm::Sgemm;
using sgemm::Share;

// Planes with at least this many pixels are multiplied image by image; smaller ones batched.
constexpr int64_t kPerImagePixels = 256;

// An uninitialised float buffer (every element is written before it is read).
inline std::unique_ptr<float[]> Buffer(int64_t size) { return std::unique_ptr<float[]>(new float[size]); }

struct Shape {
  int64_t n, ci, co, p;  // images, input channels, output channels, pixels per plane
};

// [A, B, P] -> [B, A, P]: with (A, B) = (N, C) it gathers the batch into one matrix of C rows
// ([C, N*P]); with (C, N) it scatters such a matrix back to NCHW. P > 0: the plane size as a
// compile-time constant (the copies of 2x2 to 8x8 planes then compile to a few vector moves instead
// of a memcpy call each); 0: p.
template <int P>
void SwapOuterAxes(const float *src, int64_t a, int64_t b, int64_t p, float *dst) {
  const int64_t size = P > 0 ? P : p;
#pragma omp parallel for collapse(2)
  for (int64_t j = 0; j < b; ++j) {
    for (int64_t i = 0; i < a; ++i) {
      std::memcpy(dst + (j * a + i) * size, src + (i * b + j) * size, size * sizeof(float));
    }
  }
}

void SwapOuterAxes(const float *src, int64_t a, int64_t b, int64_t p, float *dst) {
  switch (p) {
    case 4: return SwapOuterAxes<4>(src, a, b, p, dst);
    case 16: return SwapOuterAxes<16>(src, a, b, p, dst);
    case 64: return SwapOuterAxes<64>(src, a, b, p, dst);
    default: return SwapOuterAxes<0>(src, a, b, p, dst);
  }
}

// 1x1 planes (the last layers of a 32x32 network): x is already the [N, Ci] matrix whose columns the
// product needs, so the products read it in place, with the images (or output channels) split over threads.
int ForwardOfPixels(const float *x, const float *w, float *y, const Shape &s) {
  int failures = 0;
#pragma omp parallel reduction(+ : failures)
  {
    int64_t lo, hi;
    Share(s.n, 4, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    if (hi > lo) {
      failures += Sgemm('N', 'T', hi - lo, s.co, s.ci, x + lo * s.ci, s.ci, w, s.ci, 0.0f, y + lo * s.co, s.co);
    }
  }
  return failures;
}

int BackwardOfPixels(const float *x, const float *w, const float *dy, float *dx, float *dw, const Shape &s) {
  int failures = 0;
#pragma omp parallel reduction(+ : failures)
  {
    int64_t lo, hi;
    Share(s.n, 4, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    if (hi > lo) {
      failures += Sgemm('N', 'N', hi - lo, s.ci, s.co, dy + lo * s.co, s.co, w, s.ci, 0.0f, dx + lo * s.ci, s.ci);
    }
    Share(s.co, 8, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    if (hi > lo) failures += Sgemm('T', 'N', hi - lo, s.ci, s.n, dy + lo, s.co, x, s.ci, 0.0f, dw + lo * s.ci, s.ci);
  }
  return failures;
}

int Forward(const float *x, const float *w, float *y, const Shape &s) {
  if (s.p == 1) return ForwardOfPixels(x, w, y, s);
  int failures = 0;
  if (s.p >= kPerImagePixels) {
#pragma omp parallel for reduction(+ : failures)
    for (int64_t img = 0; img < s.n; ++img) {
      failures += Sgemm('N', 'N', s.co, s.p, s.ci, w, s.ci, x + img * s.ci * s.p, s.p, 0.0f, y + img * s.co * s.p, s.p);
    }
    return failures;
  }
  const int64_t cols = s.n * s.p;
  auto xg = Buffer(s.ci * cols), yg = Buffer(s.co * cols);
  SwapOuterAxes(x, s.n, s.ci, s.p, xg.get());
  failures = ColumnSplitGemm('N', s.co, s.ci, cols, w, s.ci, xg.get(), cols, yg.get(), cols);
  SwapOuterAxes(yg.get(), s.co, s.n, s.p, y);
  return failures;
}

// dx = W^T dy and dw = sum over images of dy x^T.
int Backward(const float *x, const float *w, const float *dy, float *dx, float *dw, const Shape &s) {
  if (s.p == 1) return BackwardOfPixels(x, w, dy, dx, dw, s);
  int failures = 0;
  if (s.p >= kPerImagePixels) {
    const int threads = omp_get_max_threads();
    std::vector<float> partial(static_cast<size_t>(threads) * s.co * s.ci, 0.0f);
#pragma omp parallel reduction(+ : failures)
    {
      float *mine = partial.data() + static_cast<int64_t>(omp_get_thread_num()) * s.co * s.ci;
#pragma omp for
      for (int64_t img = 0; img < s.n; ++img) {
        const float *xi = x + img * s.ci * s.p, *dyi = dy + img * s.co * s.p;
        failures += Sgemm('T', 'N', s.ci, s.p, s.co, w, s.ci, dyi, s.p, 0.0f, dx + img * s.ci * s.p, s.p);
        failures += Sgemm('N', 'T', s.co, s.ci, s.p, dyi, s.p, xi, s.p, 1.0f, mine, s.ci);
      }
    }
    for (int64_t i = 0; i < s.co * s.ci; ++i) {
      float sum = 0.0f;
      for (int t = 0; t < threads; ++t) sum += partial[static_cast<int64_t>(t) * s.co * s.ci + i];
      dw[i] = sum;
    }
    return failures;
  }
  const int64_t cols = s.n * s.p;
  auto xg = Buffer(s.ci * cols), dyg = Buffer(s.co * cols), dxg = Buffer(s.ci * cols);
  SwapOuterAxes(x, s.n, s.ci, s.p, xg.get());
  SwapOuterAxes(dy, s.n, s.co, s.p, dyg.get());
  failures = ColumnSplitGemm('T', s.ci, s.co, cols, w, s.ci, dyg.get(), cols, dxg.get(), cols);
  SwapOuterAxes(dxg.get(), s.ci, s.n, s.p, dx);
#pragma omp parallel reduction(+ : failures)
  {
    int64_t lo, hi;  // rows of dw (output channels) per thread
    Share(s.co, 8, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    if (hi > lo) {
      failures += Sgemm('N', 'T', hi - lo, s.ci, cols, dyg.get() + lo * cols, cols, xg.get(), cols, 0.0f,
                        dw + lo * s.ci, s.ci);
    }
  }
  return failures;
}

bool ReadShape(int nparam, int expected, int *ndims, int64_t **shapes, const char **dtypes, Shape *s) {
  if (nparam != expected || ndims[0] != 4 || ndims[1] != 4 || !aot_op::AllFloat32(nparam, dtypes)) return false;
  *s = {shapes[0][0], shapes[0][1], shapes[1][0], shapes[0][2] * shapes[0][3]};
  return shapes[1][1] == s->ci && shapes[1][2] == 1 && shapes[1][3] == 1;
}

}  // namespace

extern "C" {
int PointwiseForward(MS_AOT_ARGS) {
  // inputs: x, w; output: y
  Shape s;
  if (!ReadShape(nparam, 3, ndims, shapes, dtypes, &s)) return 1;
  return Forward(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
                 static_cast<float *>(params[2]), s) == 0 ? 0 : 1;
}

int PointwiseBackward(MS_AOT_ARGS) {
  // inputs: x, w, dy; outputs: dx, dw
  Shape s;
  if (!ReadShape(nparam, 5, ndims, shapes, dtypes, &s)) return 1;
  return Backward(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
                  static_cast<const float *>(params[2]), static_cast<float *>(params[3]),
                  static_cast<float *>(params[4]), s) == 0 ? 0 : 1;
}
}
