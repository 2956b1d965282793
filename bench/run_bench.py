"""MindSpore (this project) and PyTorch + timm side by side on this CPU: training, inference, data
pipelines and the share of the machine's fp32 matmul rate; a markdown table and a PNG chart.

    python bench/run_bench.py [--rounds 2] [--out bench/results]

Contenders alternate within each round, each in its own process (bench/workloads.py); medians over
rounds are reported with the ratios taken within this one run. Needs PyTorch + timm on top of the
runtime set (``pip install -r requirements.txt -r bench/requirements.txt -c requirements.txt``) and,
for the C++ row, what ascend310_infer/build.sh needs.
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the workloads' environment, taken before importing src sets oneDNN's AVX2 cap in this process: a
# PyTorch workload must not inherit it, and MindSpore's workloads set their own (src/cpu_kernels/isa.py)
WORKLOAD_ENV = dict(os.environ)
sys.path.insert(0, ROOT)
from bench.report import write_report  # noqa: E402
from src.synthetic_data import write_cifar_bin, write_image_folder  # noqa: E402

TRAIN_SHAPES = [(32, 32), (32, 128), (224, 16), (224, 32)]  # (image size, batch)
INFER_SHAPES = [(224, 1), (224, 16), (32, 256)]
PROFILE_SHAPES = [(32, 32), (224, 16)]
CPP_ITERATIONS = 30


def run(name, env=None, **args):
    """One workload in a fresh process; its JSON result (and the process's stdout when asked)."""
    proc = subprocess.run([sys.executable, "-m", "bench.workloads", name, json.dumps(args)], cwd=ROOT,
                          capture_output=True, text=True, env={**WORKLOAD_ENV, **(env or {})})
    found = [line for line in proc.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(found[-1][len("BENCH_RESULT "):]), proc.stdout


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def onednn_profile(framework, size, batch, steps=4, warmup=2):
    """Milliseconds per training step inside oneDNN primitives, by primitive kind (ONEDNN_VERBOSE)."""
    name = "mindspore_train" if framework == "mindspore" else "torch_train"
    _, stdout = run(name, env={"ONEDNN_VERBOSE": "1"}, shapes=[(size, batch)], steps=steps, warmup=warmup)
    by_kind = {}
    for line in stdout.splitlines():
        fields = line.split(",")
        if not fields[0].endswith("_verbose") or "exec" not in fields[1:4] or "cpu" not in fields:
            continue
        kind = fields[fields.index("cpu") + 1]
        prop = fields[fields.index("cpu") + 3] if "convolution" in kind else ""
        key = f"{kind} {prop.replace('_training', '').replace('_inference', '')}".strip()
        if "convolution" in kind:  # depthwise problems read "mb32_g32ic32oc32_..."
            key += " (depthwise)" if re.search(r"(^|_)g[0-9]+", fields[-2]) else " (dense)"
        try:
            by_kind[key] = by_kind.get(key, 0.0) + float(fields[-1])
        except ValueError:
            continue
    return {k: v / (steps + warmup) for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])}


def cpp_latency(work, onnx_path):
    """The C++ harness (MindSpore Lite runtime, CPU) on one 224x224 input, ms per image."""
    subprocess.run(["bash", os.path.join(ROOT, "ascend310_infer", "build.sh")], check=True, capture_output=True)
    out_dir = os.path.join(ROOT, "ascend310_infer", "out")
    lib = open(os.path.join(out_dir, "mindspore_path.txt")).read().strip() + "/lib"
    env = {**os.environ, "LD_LIBRARY_PATH": lib}
    lite = os.path.join(work, "bench_lite")
    subprocess.run([os.path.join(out_dir, "convert_onnx"), onnx_path, lite], check=True, capture_output=True, env=env)
    inputs = os.path.join(work, "cpp_inputs")
    os.makedirs(inputs, exist_ok=True)
    import numpy as np
    image = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    for i in range(CPP_ITERATIONS):
        image.tofile(os.path.join(inputs, f"img_{i:04d}.bin"))
    proc = subprocess.run([os.path.join(out_dir, "main"), "--mindir_path", lite + ".mindir", "--input0_path", inputs,
                           "--result_dir", os.path.join(work, "cpp_results"), "--time_file",
                           os.path.join(work, "cpp_time.txt")], check=True, capture_output=True, text=True, env=env)
    return float(re.search(r"average time: ([0-9.]+) ms", proc.stdout)[1]) / 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = parser.parse_args()
    missing = [name for name in ("torch", "timm") if importlib.util.find_spec(name) is None]
    if missing:
        sys.exit(f"bench/run_bench.py needs {' and '.join(missing)}: "
                 "pip install -r requirements.txt -r bench/requirements.txt -c requirements.txt")
    started = time.time()
    samples = {}

    def add(prefix, result):
        for key, value in result.items():
            samples.setdefault(f"{prefix}{key}", []).append(value)

    work = tempfile.mkdtemp(prefix="mobilenetv1_bench_")
    try:
        log("data sets: CIFAR-10 binary file, ImageNet-style JPEG folder")
        cifar = os.path.join(work, "cifar")
        write_cifar_bin(os.path.join(cifar, "data_batch_1.bin"), seed=0)
        jpegs = os.path.join(work, "imagenet")
        write_image_folder(jpegs, classes=tuple(f"n{i:08d}" for i in range(4)), per_class=40, size=(500, 375))
        log("exporting the inference models (MINDIR, ONNX)")
        files, _ = run("export_models", out_dir=work, shapes=INFER_SHAPES)
        for round_index in range(args.rounds):
            log(f"round {round_index + 1}/{args.rounds}: matmul")
            add("matmul_", run("matmul")[0])
            log("training steps: MindSpore, then PyTorch")
            add("train_ms_", run("mindspore_train", shapes=TRAIN_SHAPES)[0])
            add("train_torch_", run("torch_train", shapes=TRAIN_SHAPES)[0])
            log("inference: MindSpore (checkpoint, MINDIR), onnxruntime, PyTorch, C++")
            add("infer_ms_", run("mindspore_infer", files=files, shapes=INFER_SHAPES)[0])
            add("infer_ms_", run("mindir_infer", files=files, shapes=INFER_SHAPES)[0])
            add("infer_ort_", run("onnxruntime_infer", files=files, shapes=INFER_SHAPES)[0])
            add("infer_torch_", run("torch_infer", shapes=INFER_SHAPES)[0])
            add("infer_cpp_", {"224x1": cpp_latency(work, files["onnx_224x1"])})
            log("data pipelines")
            add("pipeline_cifar10_32_", run("pipeline", kind="cifar10", data_dir=cifar, batch=32, image_size=32)[0])
            add("pipeline_cifar10_224_", run("pipeline", kind="cifar10", data_dir=cifar, batch=16, image_size=224,
                                             epochs=1)[0])
            add("pipeline_imagenet_224_", run("pipeline", kind="imagenet2012", data_dir=jpegs, batch=16,
                                              image_size=224)[0])
        log("where a training step's time goes (oneDNN primitives, ONEDNN_VERBOSE)")
        profile = {f"{fw} {s}x{s} b{b}": onednn_profile(fw, s, b) for s, b in PROFILE_SHAPES
                   for fw in ("mindspore", "torch")}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    paths = write_report(args.out, medians, samples, profile, TRAIN_SHAPES, INFER_SHAPES, time.time() - started)
    log(f"done in {time.time() - started:.0f} s: {', '.join(paths)}")


if __name__ == "__main__":
    main()
