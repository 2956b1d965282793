"""A speed idea that did not pay: 3x3 depthwise convolution as nine shifted multiply-adds.

oneDNN runs MindSpore's depthwise convolutions (NCHW, one group per channel) far slower than
PyTorch's (bench/run_bench.py's profile). This measures forward + backward (input and weight
gradients) of one depthwise layer as nn.Conv2d and as nine slices x weights summed, at the
shapes of MobileNetV1's layers, in GRAPH_MODE, and checks both give the same output.

    python bench/depthwise_shift.py
"""
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import src  # noqa: F401,E402  (oneDNN AVX2 cap, as the entry points)
import mindspore as ms  # noqa: E402
from mindspore import Parameter, Tensor, nn, ops  # noqa: E402

# (batch, channels, spatial size) of depthwise layers at 32x32 and 224x224 inputs
SHAPES = [(32, 32, 16), (32, 128, 8), (32, 512, 2), (16, 64, 112), (16, 512, 14)]


class ShiftDepthwise(nn.Cell):
    """Stride-1 3x3 depthwise convolution with 'same' padding as sum_k shift_k(x) * w_k."""

    def __init__(self, weight):
        super().__init__()
        self.weight = Parameter(Tensor(weight))
        self.pad = nn.Pad(((0, 0), (0, 0), (1, 1), (1, 1)))

    def construct(self, x):
        h, w = x.shape[2], x.shape[3]
        padded = self.pad(x)
        taps = self.weight.reshape(1, -1, 9, 1, 1)
        out = padded[:, :, 0:h, 0:w] * taps[:, :, 0]
        for k in range(1, 9):
            out = out + padded[:, :, k // 3:k // 3 + h, k % 3:k % 3 + w] * taps[:, :, k]
        return out


class _Sum(nn.Cell):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def construct(self, x):
        return self.cell(x).sum()


class _Gradients(nn.Cell):
    """Input and weight gradients of sum(cell(x)): a layer's backward pass."""

    def __init__(self, cell):
        super().__init__()
        self.net = _Sum(cell)
        self.params = ms.ParameterTuple(cell.trainable_params())
        self.grad = ops.GradOperation(get_all=True, get_by_list=True)

    def construct(self, x):
        return self.grad(self.net, self.params)(x)


def seconds(cell, x, steps=5):
    step = _Gradients(cell)
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        grads = step(x)
        grads[0][0].asnumpy()
        grads[1][0].asnumpy()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    rng = np.random.default_rng(0)
    print("| layer (batch, channels, size) | nn.Conv2d fwd+bwd | shifted multiply-adds | shift / conv "
          "| max output diff |")
    print("|---|---|---|---|---|")
    for batch, channels, size in SHAPES:
        x = Tensor(rng.standard_normal((batch, channels, size, size)).astype(np.float32))
        weight = rng.standard_normal((channels, 1, 3, 3)).astype(np.float32)
        conv = nn.Conv2d(channels, channels, 3, 1, pad_mode="same", group=channels)
        conv.weight.set_data(Tensor(weight))
        shift = ShiftDepthwise(weight)
        diff = float(np.abs(conv(x).asnumpy() - shift(x).asnumpy()).max())
        conv_s, shift_s = seconds(conv, x), seconds(shift, x)
        print(f"| {batch}, {channels}, {size}x{size} | {conv_s * 1000:.1f} ms | {shift_s * 1000:.1f} ms | "
              f"{shift_s / conv_s:.1f}x | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
