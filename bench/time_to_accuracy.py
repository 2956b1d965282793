"""Time to accuracy: the quick Fashion-MNIST recipe trained by this project and by PyTorch, side by side.

Both train the same MobileNetV1 (default_config_fashion_mnist.yaml: width, stem stride 1, TF 'same'
padding, ReLU6), with the same LR schedule (src/lr_generator.get_lr), batch, weight decay (none on
BatchNorm and biases), no augmentation, on the same CIFAR-layout files, then score all test images.
The contenders alternate within each round, each in its own process; the table reports the median
epoch time of each, the test top-1 each reached, and the ratio.

    python bench/time_to_accuracy.py [--rounds 1] [--epochs 5] [--out bench/results]

Needs the Fashion-MNIST files of the quick start (bash scripts/run_quickstart.sh writes them) and
PyTorch (pip install -r requirements.txt -r bench/requirements.txt -c requirements.txt).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "default_config_fashion_mnist.yaml")
DATA = os.path.join(ROOT, "data", "fashion_mnist")
RECORD = 1 + 3 * 32 * 32
# the environment as given, taken before anything imports src (which caps oneDNN at AVX2 in its process
# and in the processes that process starts): PyTorch runs as shipped, and train.py / eval.py set up
# oneDNN themselves (src/cpu_kernels/isa.py)
GIVEN_ENV = dict(os.environ)


def restore_onednn_isa():
    """Undo src's AVX2 cap in this process, before PyTorch's oneDNN runs anything."""
    if "ONEDNN_MAX_CPU_ISA" in GIVEN_ENV:
        os.environ["ONEDNN_MAX_CPU_ISA"] = GIVEN_ENV["ONEDNN_MAX_CPU_ISA"]
    else:
        os.environ.pop("ONEDNN_MAX_CPU_ISA", None)


def read_bins(folder):
    """(images float32 NCHW normalised as the pipeline does, int64 labels) of every .bin file in ``folder``."""
    sys.path.insert(0, ROOT)
    from src.dataset_specs import CIFAR_FORMAT_STATS
    files = sorted(f for f in os.listdir(folder) if f.endswith(".bin"))
    raw = np.concatenate([np.fromfile(os.path.join(folder, f), np.uint8).reshape(-1, RECORD) for f in files])
    mean, std = (np.array(v, np.float32)[None, :, None, None] for v in CIFAR_FORMAT_STATS["fashion_mnist"])
    images = (raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0 - mean) / std
    return images, raw[:, 0].astype(np.int64)


def torch_mobilenet_v1(width, stem_stride, classes):
    """MobileNetV1 in PyTorch as src/mobilenet_v1.py builds it: TF 'same' padding, BatchNorm, ReLU6."""
    import torch.nn as tnn
    import torch.nn.functional as F
    from src.mobilenet_v1 import SEPARABLE_LAYERS, STEM_CHANNELS, scaled_channels

    class SamePad(tnn.Module):
        """TF 'same' for a 3x3 kernel: 2 pixels in all at stride 1; at stride 2 on an even side, 1 at the end."""

        def __init__(self, stride):
            super().__init__()
            self.stride = stride

        def forward(self, x):
            if self.stride == 1:
                return F.pad(x, (1, 1, 1, 1))
            (top, bottom), (left, right) = (((1, 1) if side % 2 else (0, 1)) for side in x.shape[2:])
            return F.pad(x, (left, right, top, bottom))

    def block(cin, cout, kernel, stride, groups):
        pad = [SamePad(stride)] if kernel == 3 else []
        return pad + [tnn.Conv2d(cin, cout, kernel, stride, 0, groups=groups, bias=False),
                      tnn.BatchNorm2d(cout, eps=1e-5, momentum=0.1), tnn.ReLU6()]

    channels = scaled_channels(STEM_CHANNELS, width)
    layers = block(3, channels, 3, stem_stride, 1)
    for out, stride in SEPARABLE_LAYERS:
        out = scaled_channels(out, width)
        layers += block(channels, channels, 3, stride, channels) + block(channels, out, 1, 1, 1)
        channels = out
    return tnn.Sequential(*layers, tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(channels, classes))


def assert_same_network(config):
    """The PyTorch network computes what this project's does on the same random weights (inference),
    so the two sides train one architecture: BatchNorm's parameters are matched by role."""
    import torch
    from mindspore import Tensor
    from src.mobilenet_v1 import MobileNetV1
    ours = MobileNetV1(class_num=config.class_num, width_multiplier=config.width_multiplier,
                       stem_stride=config.stem_stride)
    theirs = torch_mobilenet_v1(config.width_multiplier, config.stem_stride, config.class_num)
    role = {"weight": 0, "gamma": 0, "beta": 1, "moving_mean": 2, "moving_variance": 3, "bias": 1}

    def position(param):  # torch's order: conv weight; BN weight, bias, running mean, running var; fc
        *path, kind = param.name.split(".")
        return [path[0] == "fc"] + [int(x) for x in path[1:]] + [role[kind]]

    rng = np.random.default_rng(0)
    torch_state = {}
    mine = sorted(ours.get_parameters(), key=position)
    torch_names = [name for name in theirs.state_dict() if not name.endswith("num_batches_tracked")]
    for name, param in zip(torch_names, mine, strict=True):
        kind = param.name.rsplit(".", 1)[-1]
        fan_in = int(np.prod(param.shape[1:])) if len(param.shape) > 1 else 1
        value = (rng.uniform(0.5, 1.5, param.shape) if kind in ("gamma", "moving_variance")
                 else rng.normal(0, np.sqrt(2 / fan_in) if len(param.shape) > 1 else 0.1, param.shape))
        param.set_data(Tensor(value.astype(np.float32)))
        torch_state[name] = torch.from_numpy(value.astype(np.float32))
    theirs.load_state_dict(torch_state, strict=False)
    theirs.eval()
    ours.set_train(False)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        difference = np.abs(theirs(torch.from_numpy(x)).numpy() - ours(Tensor(x)).asnumpy()).max()
    assert difference < 1e-4, f"the PyTorch MobileNetV1 differs from this project's by {difference}"


def train_torch(config, epochs):
    """The quick recipe in PyTorch eager: per-epoch seconds and the test top-1 (one JSON line on stdout)."""
    import torch
    from src.lr_generator import get_lr
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(config.seed)
    images, labels = read_bins(os.path.join(DATA, "fashion-mnist-batches-bin"))
    net = torch_mobilenet_v1(config.width_multiplier, config.stem_stride, config.class_num)
    decay = [p for n, p in net.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in net.named_parameters() if p.ndim <= 1]  # BatchNorm gamma/beta and biases
    opt = torch.optim.SGD([{"params": decay, "weight_decay": config.weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}], lr=0.0, momentum=config.momentum)
    steps = len(labels) // config.batch_size
    lr = get_lr(config.lr_init, config.lr_end, config.lr_max, config.warmup_epochs, epochs, steps,
                config.lr_decay_mode)
    rng = np.random.default_rng(config.seed)
    loss_fn, epoch_seconds = torch.nn.CrossEntropyLoss(), []
    for epoch in range(epochs):
        start, order = time.perf_counter(), rng.permutation(len(labels))
        net.train()
        for step in range(steps):
            index = order[step * config.batch_size:(step + 1) * config.batch_size]
            for group in opt.param_groups:
                group["lr"] = float(lr[epoch * steps + step])
            opt.zero_grad(set_to_none=True)
            loss_fn(net(torch.from_numpy(images[index])), torch.from_numpy(labels[index])).backward()
            opt.step()
        epoch_seconds.append(time.perf_counter() - start)
    test_images, test_labels = read_bins(os.path.join(DATA, "fashion-mnist-verify-bin"))
    net.eval()
    with torch.no_grad():
        predicted = torch.cat([net(torch.from_numpy(test_images[i:i + 500])).argmax(1)
                               for i in range(0, len(test_labels), 500)]).numpy()
    return {"epoch_seconds": epoch_seconds, "top1": float((predicted == test_labels).mean())}


def train_mindspore(epochs, out):
    """The quick recipe through train.py and eval.py: per-epoch seconds (train.log) and the test top-1."""
    from src.training.run_state import list_epoch_checkpoints
    ckpt_dir = os.path.join(out, "mindspore")
    train = subprocess.run([sys.executable, "train.py", "--config_path", CONFIG, "--epoch_size", str(epochs),
                            "--dataset_path", os.path.join(DATA, "fashion-mnist-batches-bin"),
                            "--save_checkpoint_path", ckpt_dir], cwd=ROOT, capture_output=True, text=True, check=True,
                           env=GIVEN_ENV)
    seconds = [float(ms) / 1000 for ms in re.findall(r"Train epoch time: ([0-9.]+) ms", train.stdout)]
    ckpt = list_epoch_checkpoints(ckpt_dir)[-1][1]
    evaluation = subprocess.run([sys.executable, "eval.py", "--config_path", CONFIG, "--checkpoint_path", ckpt,
                                 "--dataset_path", os.path.join(DATA, "fashion-mnist-verify-bin")], cwd=ROOT,
                                capture_output=True, text=True, check=True, env=GIVEN_ENV)
    return {"epoch_seconds": seconds, "top1": float(re.search(r"'top_1_accuracy': ([0-9.]+)", evaluation.stdout)[1])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    if args.worker:  # one PyTorch training in this process
        from src.model_utils.config import get_config
        config = get_config(["--config_path", CONFIG])
        restore_onednn_isa()
        assert_same_network(config)
        result = train_torch(config, args.epochs)
        print("RESULT " + json.dumps(result), flush=True)
        return
    results = {"MindSpore (this project)": [], "PyTorch eager": []}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.rounds):
            results["MindSpore (this project)"].append(train_mindspore(args.epochs, out))
            worker = subprocess.run([sys.executable, __file__, "--epochs", str(args.epochs), "--worker"],
                                    capture_output=True, text=True, check=True, env=GIVEN_ENV).stdout
            results["PyTorch eager"].append(json.loads(worker.split("RESULT ")[-1]))
    from bench.report import cpu_name
    lines = [f"Quick Fashion-MNIST recipe, {args.epochs} epochs, {args.rounds} round(s), {os.cpu_count()} cores of "
             f"{cpu_name()}", "",
             "| framework | median epoch (s) | test top-1 |", "|---|---|---|"]
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(s for run in runs for s in run["epoch_seconds"])
        accuracies = " / ".join(f"{run['top1']:.4f}" for run in runs)
        lines.append(f"| {name} | {medians[name]:.1f} | {accuracies} |")
    ours, theirs = medians["MindSpore (this project)"], medians["PyTorch eager"]
    lines += ["", f"PyTorch epoch time / this project's: **{theirs / ours:.2f}x**"]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "time_to_accuracy.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
