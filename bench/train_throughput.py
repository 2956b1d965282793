"""Training throughput of train.py on CPU, with and without the oneDNN ISA cap.

Runs train.py (the real pipeline, network, optimizer and graph mode) for two epochs on a
generated CIFAR-format folder and reads the second epoch's per-step time (the first one
includes graph compilation). Variants run alternately, ``--rounds`` times; medians reported.

    python bench/train_throughput.py --rounds 3
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from src.synthetic_data import write_cifar_bin  # noqa: E402  (shared with the tests)

STEP_TIME = re.compile(r"per step time: ([0-9.]+) ms")
WORKLOADS = ((32, 32, 320), (224, 16, 160))  # (image size, batch, images per epoch)
# set for the process, which makes it the user's choice: src/cpu_kernels/isa.py keeps it
ISA_SETTINGS = (("AVX2 cap", "AVX2"), ("no cap (train.py's own choice with every C++ kernel)", "ALL"))


def step_seconds(data_dir, out_dir, image_size, batch, images, isa):
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA=isa)
    cmd = [sys.executable, os.path.join(ROOT, "train.py"), "--device_target", "CPU", "--dataset_path", data_dir,
           "--epoch_size", "2", "--image_size", str(image_size), "--batch_size", str(batch),
           "--num_samples", str(images), "--save_checkpoint", "False", "--save_checkpoint_path", out_dir]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return float(STEP_TIME.findall(out)[-1]) / 1000.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_cifar_bin(os.path.join(tmp, "data_batch_1.bin"), seed=0)
        times = {}
        for _ in range(args.rounds):
            for size, batch, images in WORKLOADS:
                for name, isa in ISA_SETTINGS:
                    seconds = step_seconds(tmp, tmp, size, batch, images, isa)
                    times.setdefault((size, batch, name), []).append(seconds)
                    print(f"  {size}x{size} b{batch} {name}: {batch / seconds:.1f} img/s", flush=True)
    print("\n| image | batch | oneDNN | img/s (median) | s/step | speed-up of the cap |")
    print("|---|---|---|---|---|---|")
    for size, batch, _ in WORKLOADS:
        capped = statistics.median(times[(size, batch, ISA_SETTINGS[0][0])])
        for name, _ in ISA_SETTINGS:
            med = statistics.median(times[(size, batch, name)])
            print(f"| {size}x{size} | {batch} | {name} | {batch / med:.1f} | {med:.3f} | {med / capped:.2f}x |")


if __name__ == "__main__":
    main()
