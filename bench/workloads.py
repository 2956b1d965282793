"""Measurements, one framework per process: ``python -m bench.workloads NAME 'JSON ARGS'`` prints one JSON line.

Each framework runs in a process of its own so that its thread pool and oneDNN settings stay its
own (importing ``src`` caps MindSpore's oneDNN at AVX2 and the MindSpore workloads lift it as
init_context does, src/cpu_kernels/isa.py; PyTorch and onnxruntime run as shipped).
Times are medians over ``steps`` calls after ``warmup`` calls (graph compilation included there).
"""
import json
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREADS = os.cpu_count()


def median_seconds(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def batch_of(size, batch, classes, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, 3, size, size)).astype(np.float32),
            rng.integers(0, classes, batch).astype(np.int32))


# ---------------------------------------------------------------- compute reference
def matmul(n=4096, steps=5):
    """fp32 GEMM rate of the machine (PyTorch's BLAS), the 100 % line for GFLOP/s."""
    import torch
    torch.set_num_threads(THREADS)
    a, b = torch.randn(n, n), torch.randn(n, n)
    seconds = median_seconds(lambda: torch.mm(a, b), steps, 2)
    return {"gflops": 2 * n ** 3 / seconds / 1e9}


# ---------------------------------------------------------------- training steps
def mindspore_training_parts(classes, kernels=None, fused_optimizer=None, **network):
    """(network, loss, optimizer) of this project's training: MobileNetV1, label-smoothed
    cross-entropy, Momentum with train.py's parameter groups (no weight decay on BN and biases).

    ``kernels`` defaults to what train.py picks on CPU (every C++ kernel of src/cpu_kernels), and
    ``fused_optimizer`` (the one-op C++ Momentum) to whether ``kernels`` was left to that default;
    ``network`` passes other MobileNetV1 options (width_multiplier, stem_stride ...)."""
    sys.path.insert(0, ROOT)
    import src  # noqa: F401  (oneDNN AVX2 cap, as the entry points)
    from src.cpu_kernels import KERNELS, configure_onednn
    from src.CrossEntropySmooth import CrossEntropySmooth
    from src.mobilenet_v1 import MobileNetV1
    from src.training.optimizer import momentum_optimizer, optimizer_groups
    fused_optimizer = kernels is None if fused_optimizer is None else fused_optimizer
    kernels = tuple(KERNELS) if kernels is None else kernels
    configure_onednn(kernels)  # as init_context does for train.py
    net = MobileNetV1(class_num=classes, kernels=kernels, **network)
    loss = CrossEntropySmooth(sparse=True, reduction="mean", smooth_factor=0.1, num_classes=classes)
    return net, loss, momentum_optimizer(optimizer_groups(net, 4e-5, True), 0.1, 0.9, fused=fused_optimizer)


def mindspore_train(shapes, classes=1000, steps=8, warmup=2):
    """This project's training step in GRAPH_MODE (what Model.train builds at amp level O0)."""
    import mindspore as ms
    from mindspore import Tensor, nn
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    results = {}
    for size, batch in shapes:
        net, loss, opt = mindspore_training_parts(classes)
        step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), opt)
        step.set_train(True)
        x, y = (Tensor(a) for a in batch_of(size, batch, classes))
        results[f"{size}x{batch}"] = median_seconds(lambda: step(x, y).asnumpy(), steps, warmup)
    return results


def torch_train(shapes, classes=1000, steps=8, warmup=2):
    """timm mobilenetv1_100, SGD momentum, label-smoothed cross-entropy, eager, channels_last."""
    import timm
    import torch
    torch.set_num_threads(THREADS)
    results = {}
    for size, batch in shapes:
        model = timm.create_model("mobilenetv1_100", num_classes=classes).to(memory_format=torch.channels_last)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=4e-5)
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        x, y = batch_of(size, batch, classes)
        x = torch.from_numpy(x).to(memory_format=torch.channels_last)
        y = torch.from_numpy(y).long()

        def step():
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            opt.step()
        results[f"{size}x{batch}"] = median_seconds(step, steps, warmup)
    return results


# ---------------------------------------------------------------- inference
def export_models(out_dir, shapes, classes=1000):
    """A checkpoint and its MINDIR / ONNX exports per (size, batch), through src/exporter's export path."""
    sys.path.insert(0, ROOT)
    import src  # noqa: F401
    import mindspore as ms
    from src.mobilenet_v1 import MobileNetV1
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    ms.set_seed(0)
    net = MobileNetV1(class_num=classes)
    net.set_train(False)
    ckpt = os.path.join(out_dir, "bench.ckpt")
    ms.save_checkpoint(net, ckpt)
    files = {"ckpt": ckpt}
    for size, batch in shapes:
        x = ms.Tensor(np.zeros((batch, 3, size, size), np.float32))
        for fmt, suffix in (("MINDIR", "mindir"), ("ONNX", "onnx")):
            name = os.path.join(out_dir, f"bench_{size}_{batch}")
            ms.export(net, x, file_name=name, file_format=fmt)
            files[f"{suffix}_{size}x{batch}"] = f"{name}.{suffix}"
    return files


def mindspore_infer(files, shapes, classes=1000, steps=20, warmup=3):
    """The checkpoint as eval.py, validation and predict.py run it on CPU (BatchNorm folded, the C++
    inference kernel: inference_impl cpp), and the same network's eval-mode cells (inference_impl
    mindspore, the path before that kernel); GRAPH_MODE, oneDNN set up as eval.py sets it."""
    from types import SimpleNamespace
    sys.path.insert(0, ROOT)
    import src  # noqa: F401
    import mindspore as ms
    from src.checkpoint import load_for_inference
    from src.cpu_kernels import KERNELS, configure_onednn, inference_network
    from src.mobilenet_v1 import MobileNetV1
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    configure_onednn(tuple(KERNELS))
    net = MobileNetV1(class_num=classes, kernels=tuple(KERNELS))
    load_for_inference(net, files["ckpt"])
    folded = inference_network(net, SimpleNamespace(inference_impl="cpp", device_target="CPU", amp_level="O0"))
    cells = inference_network(net, SimpleNamespace(inference_impl="mindspore", device_target="CPU", amp_level="O0"))
    results = {}
    for size, batch in shapes:
        x = ms.Tensor(batch_of(size, batch, classes)[0])
        results[f"ckpt_{size}x{batch}"] = median_seconds(lambda: folded(x).asnumpy(), steps, warmup)
        results[f"cells_{size}x{batch}"] = median_seconds(lambda: cells(x).asnumpy(), steps, warmup)
    return results


def mindir_infer(files, shapes, classes=1000, steps=20, warmup=3):
    """The exported MINDIR through nn.GraphCell (MindSpore's own convolutions, so oneDNN keeps its
    AVX2 cap, as in predict.py on a MINDIR); GRAPH_MODE."""
    sys.path.insert(0, ROOT)
    import src  # noqa: F401  (oneDNN AVX2 cap)
    import mindspore as ms
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    results = {}
    for size, batch in shapes:
        x = ms.Tensor(batch_of(size, batch, classes)[0])
        graph = ms.nn.GraphCell(ms.load(files[f"mindir_{size}x{batch}"]))
        results[f"mindir_{size}x{batch}"] = median_seconds(lambda: graph(x).asnumpy(), steps, warmup)
    return results


def onnxruntime_infer(files, shapes, classes=1000, steps=20, warmup=3):
    """onnxruntime on the ONNX that export.py writes: a bare session, and predict.py's path
    (src.deploy.exporter.load_exported, which predict.py uses for .onnx models)."""
    sys.path.insert(0, ROOT)
    import onnxruntime
    from src.deploy.exporter import load_exported
    results = {}
    for size, batch in shapes:
        path = files[f"onnx_{size}x{batch}"]
        x = batch_of(size, batch, classes)[0]
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        results[f"ort_{size}x{batch}"] = median_seconds(lambda: session.run(None, {name: x}), steps, warmup)
        run = load_exported(path)
        results[f"predict_{size}x{batch}"] = median_seconds(lambda: run(x), steps, warmup)
    return results


def torch_infer(shapes, classes=1000, steps=20, warmup=3):
    """timm mobilenetv1_100, eager, eval mode, no_grad, channels_last."""
    import timm
    import torch
    torch.set_num_threads(THREADS)
    model = timm.create_model("mobilenetv1_100", num_classes=classes).eval().to(memory_format=torch.channels_last)
    results = {}
    with torch.no_grad():
        for size, batch in shapes:
            x = torch.from_numpy(batch_of(size, batch, classes)[0]).to(memory_format=torch.channels_last)
            results[f"{size}x{batch}"] = median_seconds(lambda: model(x), steps, warmup)
    return results


# ---------------------------------------------------------------- data pipelines
def pipeline(kind, data_dir, batch, image_size, epochs=3):
    """Images per second out of the training pipeline (augmentations, normalisation, batching),
    over whole epochs after the first batch; ``kind`` is cifar10 or imagenet2012."""
    sys.path.insert(0, ROOT)
    import src  # noqa: F401
    from src.dataset import create_dataset1, create_dataset2
    if kind == "cifar10":
        dataset = create_dataset1(data_dir, True, batch_size=batch, image_size=image_size)
    else:
        dataset = create_dataset2(data_dir, True, batch_size=batch, image_size=image_size)
    iterator = dataset.create_tuple_iterator(num_epochs=epochs, output_numpy=True)
    next(iterator)
    start, images = time.perf_counter(), 0
    for image, _ in iterator:
        images += image.shape[0]
    return {"img_per_s": images / (time.perf_counter() - start), "workers": min(8, THREADS)}


def main():
    name, args = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    if "shapes" in args:
        args["shapes"] = [tuple(s) for s in args["shapes"]]
    print("BENCH_RESULT " + json.dumps(globals()[name](**args)), flush=True)


if __name__ == "__main__":
    main()
