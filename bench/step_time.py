"""Training-step time of this checkout against other checkouts (e.g. an older commit), side by side.

Each checkout's own ``bench/workloads.py`` builds its training step (its network, kernels and optimizer,
as its train.py runs them on CPU: GRAPH_MODE, random data); every (checkout, workload) runs in a
process of its own, alternating over ``--rounds``, and the medians and their ratios to the first
checkout are printed. Make a checkout of a commit with ``git worktree add <folder> <commit>``.

    python bench/step_time.py --checkouts <older checkout> . [--rounds 3]
        [--workloads 32:128:0.35:1 32:128:1.0:2 224:16:1.0:2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

WORKER = """
import json, sys
sys.path.insert(0, {root!r})
import mindspore as ms
from mindspore import Tensor, nn
from bench.workloads import batch_of, median_seconds, mindspore_training_parts
ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
size, batch, width, stem_stride, classes = {spec}
net, loss, opt = mindspore_training_parts(classes, width_multiplier=width, stem_stride=stem_stride)
step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), opt)
step.set_train(True)
x, y = (Tensor(a) for a in batch_of(size, batch, classes))
print("RESULT", json.dumps(median_seconds(lambda: step(x, y).asnumpy(), {steps}, 2)))
"""


def parse_workload(text):
    """'size:batch:width:stem_stride' -> (size, batch, width, stem_stride, classes): 10 classes at 32x32
    (the recipes), 1000 at larger sizes (ImageNet)."""
    size, batch, width, stem_stride = text.split(":")
    return int(size), int(batch), float(width), int(stem_stride), 10 if int(size) <= 32 else 1000


def step_seconds(root, spec, steps):
    code = WORKER.format(root=os.path.abspath(root), spec=spec, steps=steps)
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench/step_time.py: {root} {spec} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.split("RESULT ")[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", nargs="+", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--workloads", nargs="+", default=["32:128:0.35:1", "32:128:1.0:2", "224:16:1.0:2"])
    args = parser.parse_args()
    times = {}
    for _ in range(args.rounds):
        for workload in args.workloads:
            for root in args.checkouts:
                seconds = step_seconds(root, parse_workload(workload), args.steps)
                times.setdefault((workload, root), []).append(seconds)
                print(f"  {workload} {root}: {seconds * 1000:.1f} ms", flush=True)
    print("\n| workload (size:batch:width:stem stride) | " + " | ".join(f"{r} ms" for r in args.checkouts)
          + " | " + " | ".join(f"{r} speed-up" for r in args.checkouts[1:]) + " |")
    print("|---|" + "---|" * (2 * len(args.checkouts) - 1))
    for workload in args.workloads:
        medians = [statistics.median(times[(workload, root)]) for root in args.checkouts]
        cells = " | ".join(f"{m * 1000:.1f}" for m in medians)
        ratios = " | ".join(f"**{medians[0] / m:.2f}x**" for m in medians[1:])
        print(f"| {workload} | {cells} | {ratios} |")


if __name__ == "__main__":
    main()
