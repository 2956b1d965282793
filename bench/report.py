"""The benchmark's markdown table, PNG chart and raw JSON (bench/results/)."""
import json
import os
import platform

from src.tools.model_summary import summarize

CLASSES = 1000


def _mult_adds(size):
    return summarize(1.0, size, CLASSES)[2]


def _gflops(size, batch, seconds, training):
    """Achieved GFLOP/s: 2 FLOPs per mult-add, a training step counted as 3 forward passes."""
    return 2 * _mult_adds(size) * batch * (3 if training else 1) / seconds / 1e9


def cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def _versions():
    import mindspore
    import onnxruntime
    import timm
    import torch
    return (f"MindSpore {mindspore.__version__}, PyTorch {torch.__version__}, timm {timm.__version__}, "
            f"onnxruntime {onnxruntime.__version__}")


def _spread(rounds, key):
    values = rounds.get(key, [])
    return f"{min(values):.3g}-{max(values):.3g} s" if len(values) > 1 else ""


def training_rows(m, rounds, shapes, matmul):
    rows = []
    for size, batch in shapes:
        key = f"{size}x{batch}"
        ms_s, pt_s = m[f"train_ms_{key}"], m[f"train_torch_{key}"]
        rows.append({"workload": f"train {size}x{size} b{batch}", "mindspore": batch / ms_s, "torch": batch / pt_s,
                     "ratio": pt_s / ms_s, "ms_gflops": _gflops(size, batch, ms_s, True),
                     "torch_gflops": _gflops(size, batch, pt_s, True), "matmul": matmul,
                     "spread": f"MS {_spread(rounds, f'train_ms_{key}')}, PT {_spread(rounds, f'train_torch_{key}')}"})
    return rows


def inference_rows(m, shapes):
    rows = []
    for size, batch in shapes:
        key = f"{size}x{batch}"
        row = {"workload": f"infer {size}x{size} b{batch}", "torch": m[f"infer_torch_{key}"],
               "ms_ckpt": m[f"infer_ms_ckpt_{key}"], "ms_cells": m[f"infer_ms_cells_{key}"],
               "mindir": m[f"infer_ms_mindir_{key}"],
               "ort": m[f"infer_ort_ort_{key}"], "predict": m[f"infer_ort_predict_{key}"],
               "cpp": m.get(f"infer_cpp_{key}"), "batch": batch, "size": size}
        rows.append(row)
    return rows


def _fmt_latency(seconds, batch):
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.1f} ms" if batch == 1 else f"{batch / seconds:,.0f} img/s"


def markdown(m, rounds, profile, train_shapes, infer_shapes, elapsed):
    matmul = m["matmul_gflops"]
    lines = [f"Machine: {os.cpu_count()} cores of {cpu_name()}; {_versions()}.",
             f"fp32 matmul (PyTorch, 4096x4096): {matmul:.0f} GFLOP/s = 100 %. "
             f"Medians of {max(len(v) for v in rounds.values())} rounds; whole run {elapsed / 60:.1f} min.", "",
             "Training step (random data; MindSpore: this project's network, Momentum with train.py's parameter "
             "groups, label-smoothed loss, GRAPH_MODE; PyTorch: timm mobilenetv1_100, SGD momentum, eager, "
             "channels_last). Ratio = MindSpore img/s / PyTorch img/s.", "",
             "| workload | MindSpore img/s | PyTorch img/s | ratio | MindSpore GFLOP/s (% matmul) | "
             "PyTorch GFLOP/s (% matmul) | spread over rounds (s/step) |",
             "|---|---|---|---|---|---|---|"]
    for r in training_rows(m, rounds, train_shapes, matmul):
        lines.append(f"| {r['workload']} | {r['mindspore']:.1f} | {r['torch']:.1f} | **{r['ratio']:.2f}** | "
                     f"{r['ms_gflops']:.0f} ({100 * r['ms_gflops'] / matmul:.0f} %) | "
                     f"{r['torch_gflops']:.0f} ({100 * r['torch_gflops'] / matmul:.0f} %) | {r['spread']} |")
    lines += ["", "Inference (latency at batch 1, throughput otherwise). Ratio = PyTorch eager time / the path's "
              "time (1.00 = as fast as PyTorch eager). MindSpore checkpoint: what eval.py, validation and "
              "predict.py run on CPU (BatchNorm folded, src/cpu_kernels/inference.cc); MindSpore cells: the same "
              "checkpoint on the network's eval-mode cells (--inference_impl mindspore). predict.py's path for "
              "an ONNX model is src.deploy.exporter.load_exported (onnxruntime with an input-shape check).", "",
              "| workload | PyTorch eager | MindSpore checkpoint | MindSpore cells | MindSpore MINDIR | onnxruntime | "
              "predict.py (ONNX) | C++ harness (Lite) |", "|---|---|---|---|---|---|---|---|"]
    for r in inference_rows(m, infer_shapes):
        cells = []
        for name in ("torch", "ms_ckpt", "ms_cells", "mindir", "ort", "predict", "cpp"):
            value = r[name]
            text = _fmt_latency(value, r["batch"])
            if value is not None and name != "torch":
                text += f" ({r['torch'] / value:.2f})"
            cells.append(text)
        lines.append(f"| {r['workload']} | " + " | ".join(cells) + " |")
    lines += ["", "Data pipelines (training augmentations, normalisation, batching; "
              f"{m.get('pipeline_cifar10_32_workers', 2):.0f} workers) against this project's training speed:", "",
              "| pipeline | img/s | training img/s (same size) | pipeline / training |", "|---|---|---|---|"]
    for name, key, train_key in (("CIFAR-10 binary, 32x32, crop+flip, batch 32", "pipeline_cifar10_32_", "32x32"),
                                 ("CIFAR-10 binary resized to 224, batch 16", "pipeline_cifar10_224_", "224x16"),
                                 ("ImageNet JPEG folder (500x375), random resized crop 224 + flip, batch 16",
                                  "pipeline_imagenet_224_", "224x16")):
        rate = m[key + "img_per_s"]
        batch = int(train_key.split("x")[1])
        train_rate = batch / m[f"train_ms_{train_key}"]
        lines.append(f"| {name} | {rate:,.0f} | {train_rate:.1f} | **{rate / train_rate:.1f}x** |")
    lines += ["", "Where a training step's time goes: milliseconds per step inside oneDNN primitives "
              "(ONEDNN_VERBOSE=1, by primitive kind; the rest of the step is the frameworks' own kernels and "
              "overhead).", "", "| run | step (ms) | in oneDNN (ms) | top oneDNN primitives (ms/step) |",
              "|---|---|---|---|"]
    for run_name, kinds in profile.items():
        framework, shape, batch = run_name.split()
        key = f"train_{'ms' if framework == 'mindspore' else 'torch'}_{shape.split('x')[0]}x{batch[1:]}"
        step_ms = m[key] * 1000
        top = ", ".join(f"{k} {v:.1f}" for k, v in list(kinds.items())[:4])
        lines.append(f"| {run_name} | {step_ms:.0f} | {sum(kinds.values()):.0f} | {top} |")
    return "\n".join(lines) + "\n"


def chart(path, m, rounds, train_shapes, infer_shapes):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    train = training_rows(m, rounds, train_shapes, m["matmul_gflops"])
    xs = range(len(train))
    left.bar([x - 0.2 for x in xs], [r["mindspore"] for r in train], 0.4, label="MindSpore (this project)")
    left.bar([x + 0.2 for x in xs], [r["torch"] for r in train], 0.4, label="PyTorch + timm (eager)")
    for x, r in zip(xs, train):
        left.text(x - 0.2, r["mindspore"], f"{r['ratio']:.2f}x", ha="center", va="bottom", fontsize=8)
    left.set_xticks(list(xs), [r["workload"].replace("train ", "") for r in train])
    left.set_yscale("log")
    left.set_ylabel("training img/s (log)")
    left.set_title("Training step")
    left.legend(fontsize=8)
    infer = inference_rows(m, infer_shapes)
    names = [("ms_ckpt", "MindSpore ckpt"), ("ms_cells", "MindSpore cells"), ("mindir", "MINDIR"),
             ("ort", "onnxruntime"), ("predict", "predict.py (ONNX)"), ("cpp", "C++ (Lite)")]
    width = 0.14
    for i, (key, label) in enumerate(names):
        values = [r["torch"] / r[key] if r[key] else 0 for r in infer]
        right.bar([x + (i - 2.5) * width for x in range(len(infer))], values, width, label=label)
    right.axhline(1.0, color="black", linewidth=0.8)
    right.set_xticks(range(len(infer)), [r["workload"].replace("infer ", "") for r in infer])
    right.set_ylabel("speed relative to PyTorch eager")
    right.set_title("Inference (1.0 = PyTorch eager)")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out_dir, medians, rounds, profile, train_shapes, infer_shapes, elapsed):
    os.makedirs(out_dir, exist_ok=True)
    md_path, png_path, json_path = (os.path.join(out_dir, f"benchmark.{ext}") for ext in ("md", "png", "json"))
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(markdown(medians, rounds, profile, train_shapes, infer_shapes, elapsed))
    chart(png_path, medians, rounds, train_shapes, infer_shapes)
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump({"medians": medians, "rounds": rounds, "profile": profile}, f, indent=1)
    print(open(md_path, encoding="utf-8").read())
    return [md_path, png_path, json_path]
