"""Where one MindSpore training step's time goes, by op type (MindSpore's own profiler, CPU).

Builds the training step of bench/workloads.py (this project's network and kernels, train.py's
optimizer, GRAPH_MODE, random data), takes the median of ``--steps`` steps after a warm-up, then profiles
``--profiled`` more and prints milliseconds per step by op type; what is left of the step is the
framework's time between ops.

    python bench/profile_step.py [--width 0.35] [--batch 128] [--size 32] [--stem_stride 1]
"""
import argparse
import csv
import glob
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def op_times(profile_dir, steps):
    """{op type: (ms per step, calls per step)} from the profiler's cpu_op_type_info file."""
    found = glob.glob(os.path.join(profile_dir, "**", "cpu_op_type_info_*.csv"), recursive=True)
    if not found:
        sys.exit(f"bench/profile_step.py: the profiler wrote no cpu_op_type_info file under {profile_dir}")
    with open(found[0], newline="") as f:
        return {row["op_type"]: (float(row["total_compute_time"]) / steps, int(row["type_occurrences"]) // steps)
                for row in csv.DictReader(f)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=0.35)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--stem_stride", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--profiled", type=int, default=5)
    args = parser.parse_args()
    import mindspore as ms
    from mindspore import Tensor, nn
    from bench.workloads import batch_of, median_seconds, mindspore_training_parts
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    net, loss, opt = mindspore_training_parts(10, width_multiplier=args.width, stem_stride=args.stem_stride)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), opt)
    step.set_train(True)
    x, y = (Tensor(a) for a in batch_of(args.size, args.batch, 10))
    step_ms = median_seconds(lambda: step(x, y).asnumpy(), args.steps, 3) * 1000
    with tempfile.TemporaryDirectory() as out:
        profiler = ms.Profiler(output_path=out)
        for _ in range(args.profiled):
            step(x, y).asnumpy()
        profiler.stop()
        profiler.analyse()
        times = op_times(out, args.profiled)
    in_ops = sum(ms_ for ms_, _ in times.values())
    calls = sum(count for _, count in times.values())
    print(f"width {args.width}, {args.size}x{args.size}, batch {args.batch}: {step_ms:.1f} ms per step "
          f"({args.batch / step_ms * 1000:.0f} img/s), {calls} operations, {in_ops:.1f} ms inside them, "
          f"{step_ms - in_ops:.1f} ms between them")
    print("| op type | ms per step | calls per step |\n|---|---|---|")
    for op, (ms_, calls) in sorted(times.items(), key=lambda kv: -kv[1][0]):
        if ms_ >= 0.5:
            print(f"| {op} | {ms_:.1f} | {calls} |")


if __name__ == "__main__":
    main()
