// Training-mode BatchNorm fused with ReLU6 or ReLU (NCHW, float32) for MindSpore CPU training,
// as AOT custom ops.
//
// MindSpore's CPU BatchNorm runs oneDNN's plain-NCHW batch normalisation ("ncsp_bnorm"), which
// took about a third of a MobileNetV1 training step at 32x32 (width 0.75, batch 128: 219 of
// 690 ms, forward and backward), and the activation after it is a further pass over the same
// tensor each way. Here one OpenMP thread owns a channel at a time: mean, variance, then
// normalisation and activation in three passes forward; the two gradient sums (dbeta, dgamma), then
// the input gradient in two passes backward. Row sums are vectorised (omp simd) and accumulated in
// double; plane sizes of 8x8 to 32x32 get loops with constant bounds, and planes under 64 pixels are
// read image by image instead (ForwardRows, BackwardRows). Built by build.py; batchnorm.py wraps it.
//
// Entry points (MindSpore AOT signature), epsilon 1e-5 and momentum 0.9 (nn.BatchNorm2d's defaults):
//   BatchNormReLU6Forward / BatchNormReLUForward(x[N,C,H,W], gamma[C], beta[C], moving_mean[C],
//       moving_variance[C]) -> (y[N,C,H,W], batch mean[C], biased batch variance[C]);
//       moving_mean and moving_variance are updated in place (the variance from the unbiased batch
//       variance): their buffers are the Parameters' own, so no assignment op follows
//   BatchNormReLU6Backward / BatchNormReLUBackward(x, gamma, mean, variance, y, dy)
//       -> (dx, dgamma, dbeta)
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "aot_op.h"

namespace {

constexpr double kEpsilon = 1e-5;
constexpr float kMomentum = 0.9f;  // weight of the old moving statistics

struct Shape {
  int64_t n, c, hw;
};

// Whether the activation passes the gradient at output value y (the pre-activation is inside (0, cap)).
template <bool RELU6>
inline bool Active(float y) {
  return RELU6 ? (y > 0.0f && y < 6.0f) : y > 0.0f;
}

// HW > 0: the plane size as a compile-time constant; 0: s.hw.
template <bool RELU6, int HW>
void Forward(const float *x, const float *gamma, const float *beta, float *moving_mean, float *moving_variance,
             float *y, float *mean, float *variance, const Shape &s) {
  const int64_t hw = HW > 0 ? HW : s.hw;
  const double count = static_cast<double>(s.n * hw);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t ch = 0; ch < s.c; ++ch) {
    double sum = 0.0;
    for (int64_t i = 0; i < s.n; ++i) {
      const float *row = x + (i * s.c + ch) * hw;
      float partial = 0.0f;
#pragma omp simd reduction(+ : partial)
      for (int64_t j = 0; j < hw; ++j) partial += row[j];
      sum += partial;
    }
    const double m = sum / count;
    const float mf = static_cast<float>(m);
    double squares = 0.0;
    for (int64_t i = 0; i < s.n; ++i) {
      const float *row = x + (i * s.c + ch) * hw;
      float partial = 0.0f;
#pragma omp simd reduction(+ : partial)
      for (int64_t j = 0; j < hw; ++j) {
        const float d = row[j] - mf;
        partial += d * d;
      }
      squares += partial;
    }
    const double var = squares / count;
    const float scale = static_cast<float>(gamma[ch] / std::sqrt(var + kEpsilon));
    const float shift = beta[ch] - mf * scale;
    for (int64_t i = 0; i < s.n; ++i) {
      const float *row = x + (i * s.c + ch) * hw;
      float *out = y + (i * s.c + ch) * hw;
      for (int64_t j = 0; j < hw; ++j) {
        float v = row[j] * scale + shift;
        v = v > 0.0f ? v : 0.0f;
        if (RELU6) v = v < 6.0f ? v : 6.0f;
        out[j] = v;
      }
    }
    mean[ch] = mf;
    variance[ch] = static_cast<float>(var);
    const double unbiased = count > 1 ? var * count / (count - 1) : var;
    moving_mean[ch] = kMomentum * moving_mean[ch] + (1 - kMomentum) * mf;
    moving_variance[ch] = kMomentum * moving_variance[ch] + (1 - kMomentum) * static_cast<float>(unbiased);
  }
}

template <bool RELU6, int HW>
void Backward(const float *x, const float *gamma, const float *mean, const float *variance, const float *y,
              const float *dy, float *dx, float *dgamma, float *dbeta, const Shape &s) {
  const int64_t hw = HW > 0 ? HW : s.hw;
  const float count = static_cast<float>(s.n * hw);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t ch = 0; ch < s.c; ++ch) {
    const float m = mean[ch];
    const float inv_std = static_cast<float>(1.0 / std::sqrt(static_cast<double>(variance[ch]) + kEpsilon));
    double sum_g = 0.0, sum_gx = 0.0;  // sums of the activation's gradient, and of it times x-hat
    for (int64_t i = 0; i < s.n; ++i) {
      const int64_t offset = (i * s.c + ch) * hw;
      float partial_g = 0.0f, partial_gx = 0.0f;
#pragma omp simd reduction(+ : partial_g, partial_gx)
      for (int64_t j = 0; j < hw; ++j) {
        const float g = Active<RELU6>(y[offset + j]) ? dy[offset + j] : 0.0f;
        partial_g += g;
        partial_gx += g * (x[offset + j] - m);
      }
      sum_g += partial_g;
      sum_gx += partial_gx;
    }
    sum_gx *= inv_std;
    dbeta[ch] = static_cast<float>(sum_g);
    dgamma[ch] = static_cast<float>(sum_gx);
    const float k = gamma[ch] * inv_std;
    const float mean_g = static_cast<float>(sum_g) / count;
    const float mean_gx = static_cast<float>(sum_gx) / count;
    for (int64_t i = 0; i < s.n; ++i) {
      const int64_t offset = (i * s.c + ch) * hw;
      for (int64_t j = 0; j < hw; ++j) {
        const float g = Active<RELU6>(y[offset + j]) ? dy[offset + j] : 0.0f;
        const float x_hat = (x[offset + j] - m) * inv_std;
        dx[offset + j] = k * (g - mean_g - x_hat * mean_gx);
      }
    }
  }
}

// Planes of fewer than kRowPixels pixels (the 4x4 to 1x1 planes of a 32x32 network, 7x7 at 224): a
// channel's values are a few floats in each image, far apart, so a thread per channel mostly waits on
// memory. These versions read each image as one contiguous row of C*HW values instead, summing columns
// in float over the images (vectorised across channels; a column has one value per image) and a
// channel's HW column sums in double.
constexpr int64_t kRowPixels = 64;

// The columns [lo, hi) of this OpenMP thread, out of cols.
inline void ThreadColumns(int64_t cols, int64_t *lo, int64_t *hi) {
  const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
  *lo = cols * t / threads;
  *hi = cols * (t + 1) / threads;
}

// out[col] += f(col, x[i * cols + col]) over the N rows i, the columns split over the threads.
template <class F>
void AddOverRows(const float *x, int64_t n, int64_t cols, float *out, F f) {
#pragma omp parallel
  {
    int64_t lo, hi;
    ThreadColumns(cols, &lo, &hi);
    for (int64_t i = 0; i < n; ++i) {
      const float *row = x + i * cols;
#pragma omp simd
      for (int64_t col = lo; col < hi; ++col) out[col] += f(col, row[col]);
    }
  }
}

template <bool RELU6>
void ForwardRows(const float *x, const float *gamma, const float *beta, float *moving_mean, float *moving_variance,
                 float *y, float *mean, float *variance, const Shape &s) {
  const int64_t cols = s.c * s.hw;
  const double count = static_cast<double>(s.n * s.hw);
  std::vector<float> sums(cols, 0.0f), squares(cols, 0.0f), column_mean(cols), scale(cols), shift(cols);
  AddOverRows(x, s.n, cols, sums.data(), [](int64_t, float v) { return v; });
  for (int64_t ch = 0; ch < s.c; ++ch) {
    double sum = 0.0;
    for (int64_t j = 0; j < s.hw; ++j) sum += sums[ch * s.hw + j];
    mean[ch] = static_cast<float>(sum / count);
    for (int64_t j = 0; j < s.hw; ++j) column_mean[ch * s.hw + j] = mean[ch];
  }
  const float *cm = column_mean.data();
  AddOverRows(x, s.n, cols, squares.data(), [cm](int64_t col, float v) { return (v - cm[col]) * (v - cm[col]); });
  for (int64_t ch = 0; ch < s.c; ++ch) {
    double square_sum = 0.0;
    for (int64_t j = 0; j < s.hw; ++j) square_sum += squares[ch * s.hw + j];
    const double var = square_sum / count;
    const float sc = static_cast<float>(gamma[ch] / std::sqrt(var + kEpsilon));
    for (int64_t j = 0; j < s.hw; ++j) {
      scale[ch * s.hw + j] = sc;
      shift[ch * s.hw + j] = beta[ch] - mean[ch] * sc;
    }
    variance[ch] = static_cast<float>(var);
    const double unbiased = count > 1 ? var * count / (count - 1) : var;
    moving_mean[ch] = kMomentum * moving_mean[ch] + (1 - kMomentum) * mean[ch];
    moving_variance[ch] = kMomentum * moving_variance[ch] + (1 - kMomentum) * static_cast<float>(unbiased);
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < s.n; ++i) {
    const float *row = x + i * cols;
    float *out = y + i * cols;
#pragma omp simd
    for (int64_t col = 0; col < cols; ++col) {
      float v = row[col] * scale[col] + shift[col];
      v = v > 0.0f ? v : 0.0f;
      if (RELU6) v = v < 6.0f ? v : 6.0f;
      out[col] = v;
    }
  }
}

template <bool RELU6>
void BackwardRows(const float *x, const float *gamma, const float *mean, const float *variance, const float *y,
                  const float *dy, float *dx, float *dgamma, float *dbeta, const Shape &s) {
  const int64_t cols = s.c * s.hw;
  const float count = static_cast<float>(s.n * s.hw);
  std::vector<float> sum_g(cols, 0.0f), sum_gx(cols, 0.0f), column_mean(cols), k(cols), mean_g(cols), mean_gx(cols),
      inv_std(cols);
  for (int64_t ch = 0; ch < s.c; ++ch) {
    const float is = static_cast<float>(1.0 / std::sqrt(static_cast<double>(variance[ch]) + kEpsilon));
    for (int64_t j = 0; j < s.hw; ++j) {
      column_mean[ch * s.hw + j] = mean[ch];
      inv_std[ch * s.hw + j] = is;
    }
  }
#pragma omp parallel
  {
    int64_t lo, hi;
    ThreadColumns(cols, &lo, &hi);
    for (int64_t i = 0; i < s.n; ++i) {
      const int64_t offset = i * cols;
#pragma omp simd
      for (int64_t col = lo; col < hi; ++col) {
        const float g = Active<RELU6>(y[offset + col]) ? dy[offset + col] : 0.0f;
        sum_g[col] += g;
        sum_gx[col] += g * (x[offset + col] - column_mean[col]);
      }
    }
  }
  for (int64_t ch = 0; ch < s.c; ++ch) {
    double g = 0.0, gx = 0.0;
    for (int64_t j = 0; j < s.hw; ++j) {
      g += sum_g[ch * s.hw + j];
      gx += sum_gx[ch * s.hw + j];
    }
    gx *= inv_std[ch * s.hw];
    dbeta[ch] = static_cast<float>(g);
    dgamma[ch] = static_cast<float>(gx);
    for (int64_t j = 0; j < s.hw; ++j) {
      k[ch * s.hw + j] = gamma[ch] * inv_std[ch * s.hw];
      mean_g[ch * s.hw + j] = static_cast<float>(g) / count;
      mean_gx[ch * s.hw + j] = static_cast<float>(gx) / count;
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < s.n; ++i) {
    const int64_t offset = i * cols;
#pragma omp simd
    for (int64_t col = 0; col < cols; ++col) {
      const float g = Active<RELU6>(y[offset + col]) ? dy[offset + col] : 0.0f;
      const float x_hat = (x[offset + col] - column_mean[col]) * inv_std[col];
      dx[offset + col] = k[col] * (g - mean_g[col] - x_hat * mean_gx[col]);
    }
  }
}

Shape MakeShape(const int64_t *x_shape) { return {x_shape[0], x_shape[1], x_shape[2] * x_shape[3]}; }

// Calls run(std::integral_constant<int, HW>) with the plane size when it is a common square one, else HW = 0.
template <class Run>
void WithPlaneSize(int64_t hw, Run run) {
  switch (hw) {
    case 64: return run(std::integral_constant<int, 64>());
    case 196: return run(std::integral_constant<int, 196>());
    case 256: return run(std::integral_constant<int, 256>());
    case 1024: return run(std::integral_constant<int, 1024>());
    default: return run(std::integral_constant<int, 0>());
  }
}

template <bool RELU6>
int ForwardOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  // inputs: x, gamma, beta, moving_mean, moving_variance (both updated in place); outputs: y, mean, variance
  if (nparam != 8 || ndims[0] != 4 || !aot_op::AllFloat32(nparam, dtypes)) return 1;
  const auto in = [&](int i) { return static_cast<const float *>(params[i]); };
  const auto out = [&](int i) { return static_cast<float *>(params[i]); };
  const Shape s = MakeShape(shapes[0]);
  if (s.hw < kRowPixels) {
    ForwardRows<RELU6>(in(0), in(1), in(2), out(3), out(4), out(5), out(6), out(7), s);
    return 0;
  }
  WithPlaneSize(s.hw, [&](auto hw) {
    Forward<RELU6, decltype(hw)::value>(in(0), in(1), in(2), out(3), out(4), out(5), out(6), out(7), s);
  });
  return 0;
}

template <bool RELU6>
int BackwardOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  // inputs: x, gamma, mean, variance, y, dy; outputs: dx, dgamma, dbeta
  if (nparam != 9 || ndims[0] != 4 || !aot_op::AllFloat32(nparam, dtypes)) return 1;
  const auto in = [&](int i) { return static_cast<const float *>(params[i]); };
  const auto out = [&](int i) { return static_cast<float *>(params[i]); };
  const Shape s = MakeShape(shapes[0]);
  if (s.hw < kRowPixels) {
    BackwardRows<RELU6>(in(0), in(1), in(2), in(3), in(4), in(5), out(6), out(7), out(8), s);
    return 0;
  }
  WithPlaneSize(s.hw, [&](auto hw) {
    Backward<RELU6, decltype(hw)::value>(in(0), in(1), in(2), in(3), in(4), in(5), out(6), out(7), out(8), s);
  });
  return 0;
}

}  // namespace

extern "C" {
int BatchNormReLU6Forward(MS_AOT_ARGS) { return ForwardOp<true>(nparam, params, ndims, shapes, dtypes); }
int BatchNormReLUForward(MS_AOT_ARGS) { return ForwardOp<false>(nparam, params, ndims, shapes, dtypes); }
int BatchNormReLU6Backward(MS_AOT_ARGS) { return BackwardOp<true>(nparam, params, ndims, shapes, dtypes); }
int BatchNormReLUBackward(MS_AOT_ARGS) { return BackwardOp<false>(nparam, params, ndims, shapes, dtypes); }
}
