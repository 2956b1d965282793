"""Training-step speed with MindSpore's cells against this repository's C++ CPU kernels.

Each workload is a MobileNetV1 training step (TrainOneStepCell: label-smoothed loss, Momentum with
train.py's parameter groups, GRAPH_MODE, random data) built six ways: all layers from MindSpore's
cells (nn.Conv2d, nn.BatchNorm2d + activation); the depthwise convolutions by the C++ kernel
(src/cpu_kernels/depthwise.py); in addition, BatchNorm + activation by the fused C++ kernel
(batchnorm.py; with a convolution kernel the pair runs as one op each way, conv_batchnorm.py); in
addition the 1x1 convolutions (pointwise.py); in addition the stem (stem.py), which lets oneDNN run
without its AVX2 cap (isa.py); and in addition the one-op optimizer (momentum.py), which is what
train.py picks on CPU.
Each variant runs in a process of its own, oneDNN set up as train.py would, alternating over
``--rounds``; medians reported (the machines are shared and noisy).

    python bench/cpu_kernels.py [--rounds 3] [--workloads quick full official32 official224]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# key: (description, image size, batch, network options)
WORKLOADS = {
    "quick": ("quick recipe: 32x32 b128, width 0.25, stem stride 1", 32, 128,
              {"width_multiplier": 0.25, "stem_stride": 1}),
    "full": ("full recipe: 32x32 b256, width 0.75, stem stride 1", 32, 256,
             {"width_multiplier": 0.75, "stem_stride": 1}),
    "official32": ("official network: 32x32 b32, width 1.0", 32, 32, {}),
    "official224": ("official network: 224x224 b16, width 1.0", 224, 16, {}),
}
# variant: the C++ layer kernels it uses, and whether the optimizer is the one-op C++ kernel
ALL_LAYERS = ("depthwise", "batchnorm", "pointwise", "stem")
VARIANTS = {"MindSpore cells": ((), False),
            "C++ depthwise": (("depthwise",), False),
            "C++ depthwise + BatchNorm": (("depthwise", "batchnorm"), False),
            "C++ depthwise + BatchNorm + 1x1": (("depthwise", "batchnorm", "pointwise"), False),
            "C++ depthwise + BatchNorm + 1x1 + stem": (ALL_LAYERS, False),
            "all C++, with the optimizer": (ALL_LAYERS, True)}


def measure(size, batch, network, kernels, fused_optimizer):
    """Median seconds per training step, in this process."""
    sys.path.insert(0, ROOT)
    from bench.workloads import batch_of, median_seconds, mindspore_training_parts
    import mindspore as ms
    from mindspore import Tensor, nn
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    net, loss, opt = mindspore_training_parts(10, kernels=tuple(kernels), fused_optimizer=fused_optimizer,
                                              **network)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), opt)
    step.set_train(True)
    x, y = (Tensor(a) for a in batch_of(size, batch, 10))
    return median_seconds(lambda: step(x, y).asnumpy(), steps=10, warmup=2)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print("RESULT " + json.dumps(measure(*json.loads(sys.argv[2]))), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    args = parser.parse_args()
    times = {}
    for _ in range(args.rounds):
        for key in args.workloads:
            name, size, batch, network = WORKLOADS[key]
            for variant, (kernels, fused_optimizer) in VARIANTS.items():
                spec = json.dumps([size, batch, network, kernels, fused_optimizer])
                out = subprocess.run([sys.executable, __file__, "--worker", spec], capture_output=True, text=True,
                                     check=True).stdout
                seconds = json.loads(out.split("RESULT ")[-1])
                times.setdefault((key, variant), []).append(seconds)
                print(f"  {name}, {variant}: {batch / seconds:.1f} img/s", flush=True)
    names = list(VARIANTS)
    print(f"\n| workload | {' | '.join(f'{v} img/s' for v in names)} | speed-up, all C++ vs cells |")
    print("|---|" + "---|" * (len(names) + 1))
    for key in args.workloads:
        name, _, batch, _ = WORKLOADS[key]
        rate = {v: batch / statistics.median(times[(key, v)]) for v in names}
        cells = " | ".join(f"{rate[v]:.1f}" for v in names)
        print(f"| {name} | {cells} | **{rate[names[-1]] / rate[names[0]]:.2f}x** |")


if __name__ == "__main__":
    main()
