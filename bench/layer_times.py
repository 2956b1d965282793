"""Where a training step's kernel time goes, layer by layer: each fused conv + BatchNorm + ReLU6 block's
forward and backward op (src/cpu_kernels/conv_batchnorm.cc) called directly on numpy arrays.

The profiler (bench/profile_step.py) counts ops by type but cannot name the layer of a gradient op;
this calls the same entry points the training step runs, with the shapes of the network's 27 blocks.

    python bench/layer_times.py [--size 32] [--batch 128] [--width 1.0] [--stem_stride 2] [--steps 7]
"""
import argparse
import ctypes
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from bench.pointwise_gemm import KernelCall, median_ms  # noqa: E402


def blocks(size, width, stem_stride):
    """(entry name, input channels, output channels, input side, stride, depthwise) of the 27 blocks."""
    from src.mobilenet_v1 import SEPARABLE_LAYERS, STEM_CHANNELS, scaled_channels
    from src.cpu_kernels.window import output_length, variant
    channels = scaled_channels(STEM_CHANNELS, width)
    out = [(f"Stem{variant(stem_stride, True)}", 3, channels, size, stem_stride, False)]
    side = output_length(size, stem_stride, True)
    for out_channels, stride in SEPARABLE_LAYERS:
        out_channels = scaled_channels(out_channels, width)
        out.append((f"Depthwise{variant(stride, True)}", channels, channels, side, stride, True))
        side = output_length(side, stride, True)
        out.append(("Pointwise", channels, out_channels, side, 1, False))
        channels = out_channels
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--stem_stride", type=int, default=2)
    parser.add_argument("--steps", type=int, default=7)
    args = parser.parse_args()
    import src  # noqa: F401  (the OpenMP settings train.py runs with)
    from src.cpu_kernels import KERNELS, configure_onednn
    from src.cpu_kernels.build import kernel_library
    from src.cpu_kernels.window import output_length
    configure_onednn(tuple(KERNELS))
    library = ctypes.CDLL(kernel_library("conv_batchnorm", "batchnorm_impl"))
    rng = np.random.default_rng(0)
    n = args.batch
    total = [0.0, 0.0]
    print("| block | entry | in -> out channels, side | forward ms | backward ms |\n|---|---|---|---|---|")
    for index, (entry, ci, co, side, stride, depthwise) in enumerate(blocks(args.size, args.width,
                                                                           args.stem_stride)):
        out_side = output_length(side, stride, True) if entry != "Pointwise" else side
        x = rng.standard_normal((n, ci, side, side), np.float32)
        w = rng.standard_normal((co, 1 if depthwise else ci, *((3, 3) if entry != "Pointwise" else (1, 1))),
                                np.float32) * 0.1
        vec = [np.ones(co, np.float32), np.zeros(co, np.float32), np.zeros(co, np.float32), np.ones(co, np.float32)]
        y, z = (np.empty((n, co, out_side, out_side), np.float32) for _ in range(2))
        mean, var = np.empty(co, np.float32), np.empty(co, np.float32)
        dy = rng.standard_normal(y.shape, np.float32)
        dx, dw, dgamma, dbeta, dz = (np.empty_like(x), np.empty_like(w), np.empty(co, np.float32),
                                     np.empty(co, np.float32), np.empty_like(y))
        forward = KernelCall(library, f"{entry}BatchNormReLU6Forward")
        backward = KernelCall(library, f"{entry}BatchNormReLU6Backward")
        f_ms = median_ms(lambda: forward(x, w, *vec, y, z, mean, var), args.steps)
        b_ms = median_ms(lambda: backward(x, w, vec[0], z, mean, var, y, dy, dx, dw, dgamma, dbeta, dz), args.steps)
        total[0] += f_ms
        total[1] += b_ms
        print(f"| {index} | {entry} | {ci} -> {co}, {side}x{side} | {f_ms:.2f} | {b_ms:.2f} |")
    print(f"| all | | | {total[0]:.1f} | {total[1]:.1f} |")


if __name__ == "__main__":
    main()
