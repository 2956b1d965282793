// oneDNN's sgemm (from the libdnnl that MindSpore ships) and the OpenMP split of a product's columns,
// shared by the pointwise training kernel (pointwise_conv.cc) and the inference kernel (inference.cc).
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

// oneDNN's row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C (returns 0 on success).
extern "C" int dnnl_sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

namespace sgemm {

// The [lo, hi) share of `total` items (in blocks of `align`) that OpenMP thread `t` of `threads` owns.
inline void Share(int64_t total, int64_t align, int t, int threads, int64_t *lo, int64_t *hi) {
  const int64_t blocks = (total + align - 1) / align;
  *lo = std::min(total, blocks * t / threads * align);
  *hi = std::min(total, blocks * (t + 1) / threads * align);
}

// 1 when oneDNN's sgemm refused the product (it then wrote nothing), else 0: summed over threads,
// so that an entry point can report failure instead of returning an unwritten tensor.
inline int Sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  return dnnl_sgemm(transa, transb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc) != 0;
}

// C[M, cols] = op(A) * B[K, cols] with the columns split over threads (A: [M,K], or [K,M] when
// transa is 'T'); ldb and ldc are the row lengths of B and C.
inline int ColumnSplitGemm(char transa, int64_t m, int64_t k, int64_t cols, const float *a, int64_t lda,
                           const float *b, int64_t ldb, float *c, int64_t ldc) {
  int failures = 0;
#pragma omp parallel reduction(+ : failures)
  {
    int64_t lo, hi;
    Share(cols, 16, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    if (hi > lo) failures += Sgemm(transa, 'N', m, hi - lo, k, a, lda, b + lo, ldb, 0.0f, c + lo, ldc);
  }
  return failures;
}

}  // namespace sgemm
