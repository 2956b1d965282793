// The geometry of a 3x3 window at stride S along one axis, shared by the kernels that slide one
// (stem_conv.cc, inference.cc): "same" is TF's (MindSpore's pad_mode="same", the extra pixel at the
// bottom/right), symmetric pads one pixel on both sides. window.py is the Python side.
#pragma once
#include <algorithm>
#include <cstdint>

namespace window {

struct Axis {
  int64_t in, out, pad;  // input and output length, leading padding
};

template <int S, bool SAME>
constexpr Axis WindowAxis(int64_t in) {
  const int64_t out = SAME ? (in + S - 1) / S : (in - 1) / S + 1;
  return {in, out, SAME ? std::max<int64_t>((out - 1) * S + 3 - in, 0) / 2 : 1};
}

}  // namespace window
