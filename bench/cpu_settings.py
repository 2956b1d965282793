"""MindSpore CPU settings against this project's training loop: dataset sink mode and thread counts.

Each variant trains MobileNetV1 (width 1.0, 32x32, batch 32, Momentum, label-smoothed loss) with
``Model.train`` on a generated CIFAR-10 binary file, in a process of its own, and reports the
per-step time of the second epoch (the first includes graph compilation). Variants alternate over
``--rounds``; medians reported.

    python bench/cpu_settings.py [--rounds 2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = {
    "train.py's setting (no sink, MindSpore's default threads)": {},
    "dataset sink mode": {"sink": True},
    "runtime_num_threads=1": {"context": {"runtime_num_threads": 1}},
    "inter_op_parallel_num=1": {"context": {"inter_op_parallel_num": 1}},
}
STEPS = 20  # steps per epoch (640 images)


def measure(data_dir, sink=False, context=None):
    """Seconds per step of the second epoch, in this process."""
    sys.path.insert(0, ROOT)
    from bench.workloads import mindspore_training_parts  # imports src first (oneDNN AVX2 cap)
    import mindspore as ms
    from mindspore.train import Callback, Model
    from src.dataset import create_dataset1
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU", **(context or {}))
    model = Model(*mindspore_training_parts(10))
    dataset = create_dataset1(data_dir, True, batch_size=32, image_size=32, num_samples=32 * STEPS)

    class EpochTimer(Callback):
        def __init__(self):
            self.times = []

        def on_train_epoch_begin(self, run_context):
            self.start = time.perf_counter()

        def on_train_epoch_end(self, run_context):
            self.times.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    model.train(2, dataset, callbacks=[timer], dataset_sink_mode=sink, sink_size=STEPS if sink else -1)
    return timer.times[-1] / STEPS


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print("RESULT " + json.dumps(measure(sys.argv[2], **json.loads(sys.argv[3]))), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    from src.synthetic_data import write_cifar_bin
    times = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        write_cifar_bin(os.path.join(tmp, "data_batch_1.bin"), seed=0)
        for _ in range(args.rounds):
            for name, variant in VARIANTS.items():
                out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", tmp, json.dumps(variant)],
                                     capture_output=True, text=True, check=True).stdout
                seconds = json.loads(out.split("RESULT ")[-1])
                times[name].append(seconds)
                print(f"  {name}: {32 / seconds:.1f} img/s", flush=True)
    base = statistics.median(times[next(iter(VARIANTS))])
    print("\n| setting | img/s (median) | s/step | vs train.py's setting |\n|---|---|---|---|")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"| {name} | {32 / med:.1f} | {med:.3f} | {base / med:.2f}x |")


if __name__ == "__main__":
    main()
