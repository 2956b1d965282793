"""The 1x1 convolutions of MobileNetV1 at 224x224: this repository's kernel against PyTorch's, in GFLOP/s.

Calls the kernel's entry points (src/cpu_kernels/pointwise_conv.cc, as built for train.py) directly on
numpy arrays, without the framework around them, and PyTorch's 1x1 convolution (channels_last, as
bench/run_bench.py runs timm) forward and backward (``aten.convolution_backward``: input and weight
gradients), in one process on the same threads. Each layer shape once per distinct shape of the width-1.0
network, medians of ``--steps`` calls; the totals weight every shape by how often the network has it.

    python bench/pointwise_gemm.py [--batch 16] [--steps 7]
"""
import argparse
import ctypes
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from bench.workloads import median_seconds  # noqa: E402

# (input channels, output channels, plane side, count in the network) of the 1x1 layers at 224x224
LAYERS = [(32, 64, 112, 1), (64, 128, 56, 1), (128, 128, 56, 1), (128, 256, 28, 1), (256, 256, 28, 1),
          (256, 512, 14, 1), (512, 512, 14, 5), (512, 1024, 7, 1), (1024, 1024, 7, 1)]


def median_ms(fn, steps):
    """Median milliseconds of ``steps`` calls after one warm-up call."""
    return median_seconds(fn, steps, 1) * 1000


class KernelCall:
    """An AOT entry point of the kernel library called on numpy float32 arrays (inputs, then outputs)."""

    def __init__(self, library, name):
        self.entry = getattr(library, name)
        self.entry.restype = ctypes.c_int

    def __call__(self, *arrays):
        count = len(arrays)
        params = (ctypes.c_void_p * count)(*[a.ctypes.data for a in arrays])
        ndims = (ctypes.c_int * count)(*[a.ndim for a in arrays])
        shape_arrays = [(ctypes.c_int64 * a.ndim)(*a.shape) for a in arrays]
        shapes = (ctypes.POINTER(ctypes.c_int64) * count)(
            *[ctypes.cast(s, ctypes.POINTER(ctypes.c_int64)) for s in shape_arrays])
        dtypes = (ctypes.c_char_p * count)(*[b"float32"] * count)
        if self.entry(count, params, ndims, shapes, dtypes, None, None) != 0:
            raise RuntimeError("the kernel refused its inputs")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=7)
    args = parser.parse_args()
    import src  # noqa: F401  (the OpenMP settings train.py runs with)
    import torch
    from src.cpu_kernels.build import kernel_library
    from src.cpu_kernels.isa import configure_onednn
    from src.cpu_kernels import KERNELS
    configure_onednn(tuple(KERNELS))  # as train.py: no AVX2 cap
    torch.set_num_threads(os.cpu_count())
    library = ctypes.CDLL(kernel_library("pointwise_conv", "pointwise_impl"))
    forward, backward = KernelCall(library, "PointwiseForward"), KernelCall(library, "PointwiseBackward")
    rng = np.random.default_rng(0)
    totals = {key: [0.0, 0.0] for key in ("kernel forward", "kernel backward", "torch forward", "torch backward")}
    print("| Ci -> Co, plane | flops (fwd) | kernel fwd GFLOP/s | torch fwd | kernel bwd | torch bwd |")
    print("|---|---|---|---|---|---|")
    for ci, co, side, count in LAYERS:
        n = args.batch
        x = rng.standard_normal((n, ci, side, side), np.float32)
        w = rng.standard_normal((co, ci, 1, 1), np.float32) * 0.1
        dy = rng.standard_normal((n, co, side, side), np.float32)
        y, dx, dw = np.empty_like(dy), np.empty_like(x), np.empty_like(w)
        flops = 2.0 * n * side * side * ci * co
        ms = {"kernel forward": median_ms(lambda: forward(x, w, y), args.steps),
              "kernel backward": median_ms(lambda: backward(x, w, dy, dx, dw), args.steps)}
        tx = torch.from_numpy(x).to(memory_format=torch.channels_last)
        tw = torch.from_numpy(w)
        tdy = torch.from_numpy(dy).to(memory_format=torch.channels_last)
        with torch.no_grad():
            ms["torch forward"] = median_ms(lambda: torch.nn.functional.conv2d(tx, tw), args.steps)
            ms["torch backward"] = median_ms(lambda: torch.ops.aten.convolution_backward(
                tdy, tx, tw, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, [True, True, False]), args.steps)
        np.testing.assert_allclose(y, torch.nn.functional.conv2d(tx, tw).numpy(), rtol=1e-3, atol=1e-3)
        rates = {}
        for key, value in ms.items():
            work = flops * (2 if "backward" in key else 1)
            rates[key] = work / value / 1e6
            totals[key][0] += count * work
            totals[key][1] += count * value
        print(f"| {ci} -> {co}, {side}x{side} (x{count}) | {flops / 1e9:.2f} G | {rates['kernel forward']:.0f} | "
              f"{rates['torch forward']:.0f} | {rates['kernel backward']:.0f} | {rates['torch backward']:.0f} |")
    rate = {key: work / value / 1e6 for key, (work, value) in totals.items()}
    print(f"| all 13 layers, batch {args.batch} | | {rate['kernel forward']:.0f} | {rate['torch forward']:.0f} | "
          f"{rate['kernel backward']:.0f} | {rate['torch backward']:.0f} |")
    print(f"kernel / torch: forward {rate['kernel forward'] / rate['torch forward']:.2f}x, "
          f"backward {rate['kernel backward'] / rate['torch backward']:.2f}x")


if __name__ == "__main__":
    main()
