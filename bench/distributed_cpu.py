"""Data parallelism on one CPU machine: one train.py process against N msrun workers at the same global batch.

    python bench/distributed_cpu.py [--workers 2] [--rounds 2] [--steps 150]

The quick Fashion-MNIST recipe (default_config_fashion_mnist.yaml: width 0.25, 32x32), global batch 128:
one process with batch 128, and scripts/run_distribute_train_cpu.sh with N workers of batch 128 / N, each
given its share of the cores (the script's default), and the same workers left with thread pools sized for
the whole machine (--cpu_threads 0, OMP_NUM_THREADS = all cores). Two epochs of ``--steps`` steps each; the
second epoch's time (the first compiles the graph) per contender, contenders alternating within each round,
medians over rounds, ratios taken within this one run.
"""
import argparse
import glob
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from src.tools.convert_fashion_mnist import DEBIAN_IDX_DIR, convert  # noqa: E402

EPOCH_TIME = re.compile(r"Train epoch time: ([0-9.]+) ms")
GLOBAL_BATCH = 128
RECIPE = ["--epoch_size", "2", "--save_checkpoint", "False", "--log_interval", "1000"]


def second_epoch_seconds(text):
    times = EPOCH_TIME.findall(text)
    if len(times) < 2:
        raise RuntimeError(f"no second epoch in the output:\n{text[-3000:]}")
    return float(times[1]) / 1000.0


def one_process(data_dir, work, steps):
    cmd = [sys.executable, os.path.join(ROOT, "train.py"), "--config_path",
           os.path.join(ROOT, "default_config_fashion_mnist.yaml"), "--dataset_path", data_dir,
           "--batch_size", str(GLOBAL_BATCH), "--num_samples", str(steps * GLOBAL_BATCH),
           "--save_checkpoint_path", work, *RECIPE]
    return second_epoch_seconds(subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=work).stdout)


def workers(data_dir, work, steps, count, shared):
    """N workers; ``shared``: each its share of the cores (the script's default), else whole-machine pools."""
    env = dict(os.environ, FOREGROUND="1", PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    extra = []
    if not shared:
        env["OMP_NUM_THREADS"] = str(os.cpu_count())
        extra = ["--cpu_threads", "0"]
    batch = GLOBAL_BATCH // count
    cmd = ["bash", os.path.join(ROOT, "scripts", "run_distribute_train_cpu.sh"), "fashion_mnist", data_dir,
           str(count), "--batch_size", str(batch), "--num_samples", str(steps * batch), *RECIPE, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=work, env=env)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    logs = sorted(glob.glob(os.path.join(work, "train_parallel", "msrun_log", "worker_*.log")))
    return max(second_epoch_seconds(open(log, encoding="utf-8", errors="replace").read()) for log in logs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--idx_dir", default=DEBIAN_IDX_DIR)
    args = parser.parse_args()
    contenders = {
        "1 process, batch 128": lambda d, w: one_process(d, w, args.steps),
        f"{args.workers} workers, each its share of the cores": lambda d, w: workers(d, w, args.steps, args.workers,
                                                                                     True),
        f"{args.workers} workers, whole-machine thread pools": lambda d, w: workers(d, w, args.steps, args.workers,
                                                                                    False),
    }
    times = {name: [] for name in contenders}
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, _ = convert(args.idx_dir, os.path.join(tmp, "data"), log=lambda *a: None)
        for r in range(args.rounds):
            for index, (name, run) in enumerate(contenders.items()):
                work = os.path.join(tmp, f"round{r}-contender{index}")
                os.makedirs(work)
                times[name].append(run(train_dir, work))
                print(f"  round {r + 1}: {name}: {times[name][-1]:.1f} s", flush=True)
    base = statistics.median(times["1 process, batch 128"])
    print(f"\n{args.steps} steps of global batch {GLOBAL_BATCH}, quick Fashion-MNIST recipe; {os.cpu_count()} cores "
          f"({platform.processor() or platform.machine()}); medians of {args.rounds}")
    print("| contender | epoch seconds | img/s | vs 1 process |\n|---|---|---|---|")
    for name, values in times.items():
        seconds = statistics.median(values)
        print(f"| {name} | {seconds:.1f} | {args.steps * GLOBAL_BATCH / seconds:.0f} | {base / seconds:.2f}x |")


if __name__ == "__main__":
    main()
