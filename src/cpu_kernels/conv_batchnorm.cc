// Convolution -> BatchNorm -> ReLU6/ReLU as one forward and one backward MindSpore AOT custom op.
//
// With a convolution kernel and the BatchNorm kernel as separate ops, a MobileNetV1 training step
// launches four ops per layer (two forward, two backward), 108 in all; each launch costs the
// framework about as much as a small layer's arithmetic. These entry points run the same kernels
// back to back inside one op: the convolution's entry point (depthwise_conv3x3.cc, pointwise_conv.cc,
// stem_conv.cc) then the BatchNorm's (batchnorm_activation.cc), compiled into the same library by
// build.py, so the arithmetic is theirs, bit for bit. conv_batchnorm.py wraps it.
//
// Entry points, {Conv} one of DepthwiseS1, DepthwiseS2Same, DepthwiseS2Symmetric, StemS1,
// StemS2Same, StemS2Symmetric, Pointwise; {Act} ReLU6 or ReLU:
//   {Conv}BatchNorm{Act}Forward(x, w, gamma, beta, moving_mean, moving_variance)
//       -> (y, z = the convolution's output, batch mean, biased batch variance);
//       the moving statistics are updated in place, as by the BatchNorm kernel
//   {Conv}BatchNorm{Act}Backward(x, w, gamma, z, mean, variance, y, dy) -> (dx, dw, dgamma, dbeta, dz);
//       dz (the gradient at the convolution's output) is the op's working buffer
#include <cstdint>
#include <initializer_list>

#include "aot_op.h"

#define AOT_ENTRY(name) int name(MS_AOT_ARGS)
extern "C" {
AOT_ENTRY(DepthwiseForwardS1);
AOT_ENTRY(DepthwiseForwardS2Same);
AOT_ENTRY(DepthwiseForwardS2Symmetric);
AOT_ENTRY(DepthwiseBackwardS1);
AOT_ENTRY(DepthwiseBackwardS2Same);
AOT_ENTRY(DepthwiseBackwardS2Symmetric);
AOT_ENTRY(StemForwardS1);
AOT_ENTRY(StemForwardS2Same);
AOT_ENTRY(StemForwardS2Symmetric);
AOT_ENTRY(StemBackwardS1);
AOT_ENTRY(StemBackwardS2Same);
AOT_ENTRY(StemBackwardS2Symmetric);
AOT_ENTRY(PointwiseForward);
AOT_ENTRY(PointwiseBackward);
AOT_ENTRY(BatchNormReLU6Forward);
AOT_ENTRY(BatchNormReLUForward);
AOT_ENTRY(BatchNormReLU6Backward);
AOT_ENTRY(BatchNormReLUBackward);
}

namespace {

using Entry = int (*)(int, void **, int *, int64_t **, const char **, void *, void *);
constexpr int kMaxParams = 16;

// Calls `entry` on the fused op's parameters at `indices`, in that order.
int CallOn(Entry entry, std::initializer_list<int> indices, void **params, int *ndims, int64_t **shapes,
           const char **dtypes) {
  void *p[kMaxParams];
  int d[kMaxParams];
  int64_t *s[kMaxParams];
  const char *t[kMaxParams];
  int k = 0;
  for (int i : indices) {
    p[k] = params[i];
    d[k] = ndims[i];
    s[k] = shapes[i];
    t[k] = dtypes[i];
    ++k;
  }
  return entry(k, p, d, s, t, nullptr, nullptr);
}

// Forward: 0 x, 1 w, 2 gamma, 3 beta, 4 moving_mean, 5 moving_variance -> 6 y, 7 z, 8 mean, 9 variance.
template <Entry CONV, Entry BN>
int Forward(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  if (nparam != 10) return 1;
  if (CallOn(CONV, {0, 1, 7}, params, ndims, shapes, dtypes) != 0) return 1;
  return CallOn(BN, {7, 2, 3, 4, 5, 6, 8, 9}, params, ndims, shapes, dtypes);
}

// Backward: 0 x, 1 w, 2 gamma, 3 z, 4 mean, 5 variance, 6 y, 7 dy -> 8 dx, 9 dw, 10 dgamma, 11 dbeta, 12 dz.
template <Entry CONV, Entry BN>
int Backward(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  if (nparam != 13) return 1;
  if (CallOn(BN, {3, 2, 4, 5, 6, 7, 12, 10, 11}, params, ndims, shapes, dtypes) != 0) return 1;
  return CallOn(CONV, {0, 1, 12, 8, 9}, params, ndims, shapes, dtypes);
}

}  // namespace

#define FUSED(conv, act, forward, backward)                                                         \
  AOT_ENTRY(conv##BatchNorm##act##Forward) {                                                        \
    return Forward<forward, BatchNorm##act##Forward>(nparam, params, ndims, shapes, dtypes);       \
  }                                                                                                 \
  AOT_ENTRY(conv##BatchNorm##act##Backward) {                                                       \
    return Backward<backward, BatchNorm##act##Backward>(nparam, params, ndims, shapes, dtypes);    \
  }
#define FUSED_BOTH(conv, forward, backward) FUSED(conv, ReLU6, forward, backward) FUSED(conv, ReLU, forward, backward)

extern "C" {
FUSED_BOTH(DepthwiseS1, DepthwiseForwardS1, DepthwiseBackwardS1)
FUSED_BOTH(DepthwiseS2Same, DepthwiseForwardS2Same, DepthwiseBackwardS2Same)
FUSED_BOTH(DepthwiseS2Symmetric, DepthwiseForwardS2Symmetric, DepthwiseBackwardS2Symmetric)
FUSED_BOTH(StemS1, StemForwardS1, StemBackwardS1)
FUSED_BOTH(StemS2Same, StemForwardS2Same, StemBackwardS2Same)
FUSED_BOTH(StemS2Symmetric, StemForwardS2Symmetric, StemBackwardS2Symmetric)
FUSED_BOTH(Pointwise, PointwiseForward, PointwiseBackward)
}
