"""The launch scripts themselves: argument count, paths and dataset names are checked up front; the
CPU launchers run in the background with their logs where the README says; the quick start passes
the README's recipes."""
import json
import os
import re
import subprocess
import sys
import time

import pytest

from src.model_utils.config import get_config
from src.synthetic_data import write_image_folder
from tests.conftest import ROOT, TINY_MODEL

SCRIPTS = {
    # script: (arguments that are all valid except for the checked one, index of DATASET_PATH)
    "run_train_cpu.sh": ["cifar10", "{data}"],
    "run_eval_cpu.sh": ["cifar10", "{data}", "{ckpt}"],
    "run_standalone_train.sh": ["cifar10", "{data}", "0"],
    "run_standalone_train_gpu.sh": ["cifar10", "{data}"],
    "run_distribute_train.sh": ["cifar10", "{table}", "{data}"],
    "run_distribute_train_gpu.sh": ["cifar10", "{config}", "{data}"],
    "run_distribute_train_cpu.sh": ["cifar10", "{data}", "2"],
    "run_eval.sh": ["cifar10", "{data}", "{ckpt}", "0"],
}


def script_env(**variables):
    """The environment of a user whose virtualenv is active: the scripts' `python` and `msrun` are this one's."""
    return dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
                **variables)


def run_script(name, args, cwd, env=None, timeout=60):
    return subprocess.run(["bash", os.path.join(ROOT, "scripts", name), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture
def paths(tmp_path):
    (tmp_path / "data").mkdir()
    for name in ("model.ckpt", "hccl_8p.json"):
        (tmp_path / name).write_text("x")
    return {"data": "data", "ckpt": "model.ckpt", "table": "hccl_8p.json",
            "config": os.path.join(ROOT, "default_config.yaml")}


def _valid(name, paths):
    return [arg.format(**paths) for arg in SCRIPTS[name]]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_wrong_argument_count_prints_usage(name, tmp_path):
    proc = run_script(name, ["cifar10"], tmp_path)
    assert proc.returncode == 1 and f"usage: bash {name}" in proc.stdout
    assert not (tmp_path / "train").exists() and not (tmp_path / "eval").exists()


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_unknown_dataset_name(name, tmp_path, paths):
    args = _valid(name, paths)
    args[0] = "mnist"
    proc = run_script(name, args, tmp_path)
    assert proc.returncode == 1 and "the selected dataset 'mnist' is none of cifar10, imagenet2012, fashion_mnist" \
        in proc.stderr


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_missing_paths_are_named(name, tmp_path, paths):
    template = SCRIPTS[name]
    for index, arg in enumerate(template):
        if not arg.startswith("{"):
            continue
        args = _valid(name, paths)
        args[index] = "missing/thing"
        proc = run_script(name, args, tmp_path)
        assert proc.returncode == 1, (name, index, proc.stdout, proc.stderr)
        assert f"{tmp_path}/missing/thing" in proc.stderr  # made absolute before the check


@pytest.mark.parametrize("name,args,message", [
    ("run_standalone_train.sh", ["cifar10", "{data}", "zero"], "DEVICE_ID must be a number"),
    ("run_eval.sh", ["cifar10", "{data}", "{ckpt}", "x"], "DEVICE_ID must be a number"),
    ("run_distribute_train_cpu.sh", ["cifar10", "{data}", "0"], "WORKER_NUM must be a positive number"),
])
def test_numbers_are_checked(name, args, message, tmp_path, paths):
    proc = run_script(name, [a.format(**paths) for a in args], tmp_path)
    assert proc.returncode == 1 and message in proc.stderr


@pytest.mark.parametrize("args", [["a", "b"], ["--fast"]])
def test_quickstart_usage(args, tmp_path):
    proc = run_script("run_quickstart.sh", args, tmp_path)
    assert proc.returncode == 1 and "usage: bash scripts/run_quickstart.sh [--full] [OUTPUT_DIR]" in proc.stdout


def test_quickstart_names_a_folder_without_the_data(tmp_path):
    env = dict(os.environ, FASHION_MNIST_DIR=str(tmp_path))
    proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "run_quickstart.sh"), str(tmp_path / "out")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f"FASHION_MNIST_DIR={tmp_path} lacks the four Fashion-MNIST IDX files" in proc.stdout


def test_run_infer_cpp_checks_arguments(tmp_path, paths):
    proc = run_script("run_infer_cpp.sh", ["model.ckpt", "data"], tmp_path)
    assert proc.returncode == 1 and "usage: bash run_infer_cpp.sh" in proc.stdout
    proc = run_script("run_infer_cpp.sh", ["missing.onnx", "data", "CPU"], tmp_path)
    assert proc.returncode == 1 and f"MODEL_PATH is not a file: {tmp_path}/missing.onnx" in proc.stderr


def test_env_setup_ignores_the_callers_arguments(tmp_path):
    """Sourced without arguments, a file sees its caller's: run_quickstart.sh OUTPUT_DIR must not reach pip."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\necho \"python $*\" >> \"$(dirname \"$0\")/calls\"\n")
    (venv / "bin" / "python").chmod(0o755)
    script = f"set -- {tmp_path}/output_dir; VIRTUAL_ENV={venv}; PATH={venv}/bin:$PATH; " \
             f"source {ROOT}/scripts/lib/env_setup.sh && echo sourced"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "sourced" in proc.stdout, proc.stderr
    assert "output_dir" not in proc.stderr + (venv / "bin" / "calls").read_text()
    assert f"-r {ROOT}/requirements.txt -c" in (venv / "bin" / "calls").read_text()  # runtime set only
    proc = subprocess.run(["bash", "-c", f"EXTRA_REQUIREMENTS={ROOT}/requirements-test.txt; {script}"],
                          capture_output=True, text=True, timeout=60)
    assert f"-r {ROOT}/requirements-test.txt" in (venv / "bin" / "calls").read_text()


def _running(pid):
    """Whether ``pid`` still runs (a zombie waiting for init to reap it has ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def run_in_background(name, args, cwd):
    """Start a launcher as a user does; it must return while its job runs on. (log path, log text) at the end."""
    proc = run_script(name, args, cwd, env=script_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    started = re.search(r"started in the background \(pid (\d+)\), log: (\S+)", proc.stdout)
    assert started, proc.stdout
    pid, log = int(started[1]), started[2]
    assert _running(pid)
    deadline = time.monotonic() + 600
    while _running(pid):
        assert time.monotonic() < deadline, f"{name} still running after 10 min"
        time.sleep(0.5)
    with open(log, encoding="utf-8") as f:
        return log, f.read()


def test_run_train_cpu_runs_in_the_background_with_extra_flags(tmp_path, cifar_dirs):
    """Flags after the positional arguments reach train.py (96 images, width 0.25, 32x32, 1 epoch); the log is
    train/log.txt and the checkpoints go to train/."""
    log, text = run_in_background("run_train_cpu.sh", ["cifar10", cifar_dirs[0], *TINY_MODEL, "--epoch_size", "1",
                                                       "--num_samples", "96"], tmp_path)
    assert log == str(tmp_path / "train" / "log.txt")
    assert "training epochs 1-1 of 3 steps, batch 32, image 32, width 0.25" in text, text[-3000:]
    assert "epoch: 1 step: 3/3, loss is" in text and text.rstrip().endswith("checkpoints: ./")
    assert (tmp_path / "train" / "mobilenetv1-1_3.ckpt").is_file()
    # the same command again: the first run's folder is kept aside whole, the second starts in an empty train/
    first = (tmp_path / "train" / "mobilenetv1-1_3.ckpt").read_bytes()
    proc = run_script("run_train_cpu.sh", ["cifar10", cifar_dirs[0], *TINY_MODEL, "--epoch_size", "1",
                                           "--num_samples", "96"], tmp_path, env=script_env(FOREGROUND="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kept = re.search(r"the previous run in \S+/train is kept in (\S+/train\.\d{8}-\d{6})", proc.stdout)
    assert kept, proc.stdout
    assert open(os.path.join(kept[1], "mobilenetv1-1_3.ckpt"), "rb").read() == first
    assert (tmp_path / "train" / "mobilenetv1-1_3.ckpt").is_file()


def test_run_eval_cpu_runs_in_the_background_with_extra_flags(tmp_path, cifar_dirs, trained):
    """The width flag reaches eval.py (the width-0.25 checkpoint would not load otherwise); the log is
    eval/log_eval_cpu.txt and ends with the result line."""
    ckpt = str(trained[0] / "mobilenetv1-2_3.ckpt")
    log, text = run_in_background("run_eval_cpu.sh", ["cifar10", cifar_dirs[1], ckpt, *TINY_MODEL, "--num_samples",
                                                      "64"], tmp_path)
    assert log == str(tmp_path / "eval" / "log_eval_cpu.txt")
    last = text.rstrip().splitlines()[-1]
    assert re.fullmatch(r"result: \{'top_5_accuracy': [\d.]+, 'top_1_accuracy': [\d.]+\} ckpt=" + re.escape(ckpt),
                        last), text[-3000:]


def test_run_train_cpu_gives_imagenet_the_cpu_batch_and_lr(tmp_path):
    """ImageNet on CPU: batch 32 and LR 0.1 (the Ascend YAML says 256 / 0.8); the YAML's linear schedule
    without warm-up starts at lr_max. 33 images: one batch of 32."""
    root = tmp_path / "ImageNet_Original"
    write_image_folder(str(root / "train"), per_class=11, size=(40, 32), seed=5)
    proc = run_script("run_train_cpu.sh", ["imagenet2012", str(root), *TINY_MODEL, "--epoch_size", "1",
                                           "--log_interval", "1"], tmp_path, env=script_env(FOREGROUND="1"),
                      timeout=600)
    text = (tmp_path / "train" / "log.txt").read_text()
    assert proc.returncode == 0, text[-3000:]
    assert "training epochs 1-1 of 1 steps, batch 32, image 32" in text
    with open(tmp_path / "train" / "metrics.jsonl", encoding="utf-8") as f:
        (step,) = [r for r in map(json.loads, f) if r["type"] == "step"]
    assert step["lr"] == pytest.approx(0.1)


FAKE_PYTHON = """#!{python}
\"\"\"Stands in for python: records each command line; train.py leaves a checkpoint, eval.py and export.py
print the lines run_quickstart.sh reads.\"\"\"
import json, os, sys
args = sys.argv[1:]
with open(os.path.join(os.path.dirname(__file__), "calls"), "a", encoding="utf-8") as f:
    f.write(json.dumps(args) + "\\n")
script = os.path.basename(args[0])
if script == "train.py":
    open(os.path.join(args[args.index("--save_checkpoint_path") + 1], "mobilenetv1-1_1.ckpt"), "w").close()
elif script == "eval.py":
    print("result: {{}}")
elif script == "export.py":
    print("exported: model")
"""


def quickstart_commands(tmp_path, *args):
    """{script: [config of each run]} of the train.py / eval.py / export.py runs run_quickstart.sh makes,
    with a stand-in python (nothing is trained) and four empty IDX files."""
    venv, idx = tmp_path / "venv", tmp_path / "idx"
    (venv / "bin").mkdir(parents=True)
    idx.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (idx / name).touch()
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    env = dict(os.environ, VIRTUAL_ENV=str(venv), PATH=f"{venv}/bin:{os.environ['PATH']}", FASHION_MNIST_DIR=str(idx))
    proc = run_script("run_quickstart.sh", [*args, str(tmp_path / "out")], tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    commands = {}
    for line in (venv / "bin" / "calls").read_text().splitlines():
        argv = json.loads(line)
        if argv[0].endswith(".py"):
            commands.setdefault(argv[0], []).append(get_config(argv[1:]))
    return commands


# phrases of README's recipe column -> the config values they state
RECIPE_PHRASES = [
    (r"width ([\d.]+)", lambda w: {"width_multiplier": float(w)}),
    (r"stem stride (\d+)", lambda s: {"stem_stride": int(s)}),
    (r"batch (\d+)", lambda b: {"batch_size": int(b)}),
    (r"LR ([\d.]+) → ([\d.]+) \(warm-up ([\d.]+) epochs?\) → ([\d.]+)",
     lambda first, peak, warmup, end: {"lr_init": float(first), "lr_max": float(peak),
                                       "warmup_epochs": float(warmup), "lr_end": float(end)}),
    (r"\(cosine\)", lambda: {"lr_decay_mode": "cosine_warmup"}),
    (r"no augmentation", lambda: {"train_augment": "none"}),
    (r"random crop after (\d+)-pixel padding \+ flip",
     lambda padding: {"train_augment": "crop_flip", "crop_padding": int(padding)}),
    (r"label smoothing ([\d.]+)", lambda eps: {"use_label_smooth": True, "label_smooth_factor": float(eps)}),
    (r"weight decay ([\d.e-]+)", lambda wd: {"weight_decay": float(wd)}),
    (r"validation every (\d+) epochs", lambda n: {"eval_interval": int(n)}),
    (r"EMA ([\d.]+)", lambda decay: {"ema": True, "ema_decay": float(decay)}),
    (r"random erasing p ([\d.]+) area ([\d.]+)-([\d.]+)",
     lambda p, low, high: {"re_prob": float(p), "re_scale": [float(low), float(high)]}),
]


def readme_recipe(run):
    """The row of README's Fashion-MNIST table for ``run`` (quick, full): (training values it states, the
    command-line flags it quotes). The full row is "the same with" changes to the quick one."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        row = next(line for line in f if line.startswith(f"| {run} | `bash scripts/run_quickstart.sh"))
    _, _, recipe, epochs, *_ = [cell.strip() for cell in row.strip().strip("|").split("|")]
    values, _ = readme_recipe("quick") if run == "full" else ({}, [])
    values = {**values, "epoch_size": int(epochs)}
    for pattern, stated in RECIPE_PHRASES:
        match = re.search(pattern, recipe)
        if match:
            values.update(stated(*match.groups()))
    return values, re.findall(r"`(--[^`]+)`", recipe)


@pytest.mark.parametrize("run,args", [("quick", []), ("full", ["--full"])])
def test_quickstart_passes_the_readme_recipe(tmp_path, run, args):
    """What run_quickstart.sh [--full] hands train.py, eval.py and export.py is the recipe README's table states."""
    values, flags = readme_recipe(run)
    assert {"width_multiplier", "batch_size", "lr_max", "epoch_size"} <= set(values), values  # the row was read
    commands = quickstart_commands(tmp_path, *args)
    (train,), (evaluation,) = commands["train.py"], commands["eval.py"]
    assert {key: getattr(train, key) for key in values} == values
    # the network is the trained one in the evaluation and in both exports (MINDIR, ONNX)
    for config in [evaluation, *commands["export.py"]]:
        assert (config.width_multiplier, config.stem_stride) == (train.width_multiplier, train.stem_stride)
    assert len(commands["export.py"]) == 2
    if train.eval_interval:
        assert train.eval_dataset_path == evaluation.dataset_path  # validation on the test set
    for quoted in flags:  # the flags the README quotes, e.g. --eval_flip True --eval_shift 1
        key_values = dict(zip(quoted.split()[::2], quoted.split()[1::2]))
        assert any(all(str(getattr(config, key[2:])) == value for key, value in key_values.items())
                   for config in (train, evaluation)), quoted
