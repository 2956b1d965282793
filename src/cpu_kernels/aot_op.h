// What every kernel in this folder shares as a MindSpore AOT custom op: the entry-point signature
// and the input check. Included by the .cc files; build.py hashes it with each source.
#pragma once
#include <cstdint>
#include <cstring>

// The parameters of an AOT entry point: inputs then outputs in params, with their ranks, shapes and
// dtype names (the last two, workspace and extra, are unused here).
#define MS_AOT_ARGS int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *, void *

namespace aot_op {

// Whether every input and output is float32, the one dtype the kernels compute in.
inline bool AllFloat32(int nparam, const char **dtypes) {
  for (int i = 0; i < nparam; ++i) {
    if (std::strcmp(dtypes[i], "float32") != 0) return false;
  }
  return true;
}

}  // namespace aot_op
