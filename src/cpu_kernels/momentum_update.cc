// The whole optimizer step of Momentum (plain or Nesterov) with weight decay, for every parameter of
// the network in one MindSpore AOT custom op.
//
// nn.Momentum launches, per parameter, a weight-decay multiply, an add and an ApplyMomentum: about
// 140 small operations per MobileNetV1 training step, each a dispatch by the framework that costs
// more than its arithmetic. This op takes all parameters at once and updates the weights and their
// moments in place (their buffers are the Parameters' own, so nothing is written back afterwards),
// with MindSpore's arithmetic:
//   g <- (g + wd * w) * inv_scale      (wd already multiplied by the loss scale, as nn.Optimizer does)
//   plain:    v <- momentum * v + g;  w <- w - lr * v                   (ApplyMomentum)
//   Nesterov: v <- momentum * v + g;  w <- w - lr * (g + momentum * v)
// Built by build.py; src/cpu_kernels/momentum.py wraps it.
//
// Entry points (MindSpore AOT signature):
//   MomentumUpdate / NesterovMomentumUpdate(lr[], momentum[], inv_scale[], weight_decay[P],
//       w_0 .. w_{P-1}, v_0 .. v_{P-1}, g_0 .. g_{P-1}) -> done[1] (0)
//   w_i and v_i are updated in place; inputs of another dtype than float32, or whose sizes differ,
//   make the op fail without writing anything.
#include <cstdint>

#include "aot_op.h"

namespace {

constexpr int kScalars = 4;             // lr, momentum, inv_scale, weight_decay
constexpr int64_t kParallelSize = 1 << 15;  // tensors from this size are split over the threads

int64_t Elements(int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  return n;
}

template <bool NESTEROV>
void UpdateOne(float *w, float *v, const float *g, int64_t n, float lr, float momentum, float inv_scale, float wd) {
#pragma omp parallel for simd if (n >= kParallelSize) schedule(static)
  for (int64_t j = 0; j < n; ++j) {
    const float grad = (g[j] + wd * w[j]) * inv_scale;
    const float moment = v[j] * momentum + grad;
    v[j] = moment;
    w[j] -= lr * (NESTEROV ? grad + momentum * moment : moment);
  }
}

template <bool NESTEROV>
int UpdateOp(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  const int tensors = nparam - kScalars - 1;
  if (tensors <= 0 || tensors % 3 != 0 || !aot_op::AllFloat32(nparam, dtypes)) return 1;
  const int count = tensors / 3;
  if (Elements(ndims[3], shapes[3]) != count) return 1;
  for (int i = 0; i < count; ++i) {
    const int w = kScalars + i, v = w + count, g = v + count;
    const int64_t n = Elements(ndims[w], shapes[w]);
    if (Elements(ndims[v], shapes[v]) != n || Elements(ndims[g], shapes[g]) != n) return 1;
  }
  const auto scalar = [&](int i) { return *static_cast<const float *>(params[i]); };
  const float lr = scalar(0), momentum = scalar(1), inv_scale = scalar(2);
  const float *weight_decay = static_cast<const float *>(params[3]);
  for (int i = 0; i < count; ++i) {
    const int w = kScalars + i, v = w + count, g = v + count;
    UpdateOne<NESTEROV>(static_cast<float *>(params[w]), static_cast<float *>(params[v]),
                        static_cast<const float *>(params[g]), Elements(ndims[w], shapes[w]), lr, momentum,
                        inv_scale, weight_decay[i]);
  }
  static_cast<float *>(params[nparam - 1])[0] = 0.0f;
  return 0;
}

}  // namespace

extern "C" {
int MomentumUpdate(MS_AOT_ARGS) { return UpdateOp<false>(nparam, params, ndims, shapes, dtypes); }
int NesterovMomentumUpdate(MS_AOT_ARGS) { return UpdateOp<true>(nparam, params, ndims, shapes, dtypes); }
}
