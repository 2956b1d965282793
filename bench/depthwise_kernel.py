"""Training-step speed with MindSpore's depthwise Conv2d against this repository's C++ kernel.

Each workload is a MobileNetV1 training step (TrainOneStepCell: label-smoothed loss, Momentum with
train.py's parameter groups, GRAPH_MODE, random data) built three ways: depthwise convolutions by
``nn.Conv2d`` (MindSpore/oneDNN), by the C++ kernel (src/depthwise_cpu.py, train.py's CPU default),
and with the depthwise convolutions left out (a bound: what the step costs without them). Each
variant runs in a process of its own, alternating over ``--rounds``; medians reported.

    python bench/depthwise_kernel.py [--rounds 2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (name, image size, batch, network options)
WORKLOADS = (
    ("quick recipe: 32x32 b128, width 0.25, stem stride 1", 32, 128, {"width_multiplier": 0.25, "stem_stride": 1}),
    ("full recipe: 32x32 b128, width 0.75, stem stride 1", 32, 128, {"width_multiplier": 0.75, "stem_stride": 1}),
    ("official network: 32x32 b32, width 1.0", 32, 32, {}),
    ("official network: 224x224 b16, width 1.0", 224, 16, {}),
)
VARIANTS = ("mindspore", "cpp", "none")


def measure(size, batch, network, variant):
    """Median seconds per training step, in this process."""
    sys.path.insert(0, ROOT)
    from bench.workloads import batch_of, median_seconds, mindspore_training_parts
    import mindspore as ms
    from mindspore import Tensor, nn
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    if variant == "none":
        from src import mobilenet_v1 as module
        full = module.conv_bn_relu

        def without_depthwise(cin, cout, kernel, stride, depthwise, **style):
            if not depthwise:
                return full(cin, cout, kernel, stride, depthwise, **style)
            pool = nn.MaxPool2d(1, stride) if stride > 1 else nn.Identity()  # keeps the shapes
            return nn.SequentialCell([pool, nn.BatchNorm2d(cout), nn.ReLU6()])
        module.conv_bn_relu = without_depthwise
        variant = "mindspore"
    net, loss, opt = mindspore_training_parts(10, depthwise_impl=variant, **network)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), opt)
    step.set_train(True)
    x, y = (Tensor(a) for a in batch_of(size, batch, 10))
    return median_seconds(lambda: step(x, y).asnumpy(), steps=6, warmup=2)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print("RESULT " + json.dumps(measure(*json.loads(sys.argv[2]))), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    times = {}
    for _ in range(args.rounds):
        for name, size, batch, network in WORKLOADS:
            for variant in VARIANTS:
                spec = json.dumps([size, batch, network, variant])
                out = subprocess.run([sys.executable, __file__, "--worker", spec], capture_output=True, text=True,
                                     check=True).stdout
                seconds = json.loads(out.split("RESULT ")[-1])
                times.setdefault((name, variant), []).append(seconds)
                print(f"  {name}, {variant}: {batch / seconds:.1f} img/s", flush=True)
    print("\n| workload | nn.Conv2d img/s | C++ kernel img/s | speed-up | without depthwise (bound) img/s |")
    print("|---|---|---|---|---|")
    for name, _, batch, _ in WORKLOADS:
        rate = {v: batch / statistics.median(times[(name, v)]) for v in VARIANTS}
        print(f"| {name} | {rate['mindspore']:.1f} | {rate['cpp']:.1f} | **{rate['cpp'] / rate['mindspore']:.2f}x** "
              f"| {rate['none']:.1f} |")


if __name__ == "__main__":
    main()
