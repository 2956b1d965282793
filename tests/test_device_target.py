"""The device an entry point runs on: the YAML's when this MindSpore has it, else CPU.

A device the user names that this MindSpore lacks is an error."""
import os

import pytest
import mindspore as ms

from src.mobilenet_v1 import MobileNetV1
from src.model_utils.config import Config
from src.model_utils.context import available_devices, resolve_device_target
from src.model_utils.errors import UserInputError
from tests.conftest import ROOT, run_entry_point

ABSENT = [target for target in ("Ascend", "GPU") if target not in available_devices()]
FALLBACK = "is not available in this MindSpore installation: running on CPU"


def test_cpu_is_always_there_and_kept():
    assert "CPU" in available_devices()
    assert resolve_device_target(Config({"device_target": "CPU", "config_path": "x.yaml"}), True) == "CPU"


@pytest.mark.parametrize("target", ABSENT)
def test_absent_device_falls_back_only_when_the_yaml_chose_it(target):
    config = Config({"device_target": target, "config_path": "default_config.yaml"})
    assert resolve_device_target(config, named_by_user=False) == "CPU"
    with pytest.raises(UserInputError, match=f"--device_target {target}: this MindSpore installation cannot "
                                             f"use {target}; it runs on .*CPU. Pass --device_target CPU"):
        resolve_device_target(config, named_by_user=True)


def test_seed_export_command_without_device_target_writes_mindir(tmp_path):
    """The seed README's export line, as written, with default_config.yaml's device_target Ascend."""
    assert "Ascend" in ABSENT  # this suite runs on machines without Ascend
    ckpt = str(tmp_path / "X.ckpt")
    ms.save_checkpoint(MobileNetV1(class_num=10), ckpt)
    proc = run_entry_point("export.py", "--ckpt_file", ckpt, "--file_name", "m", "--file_format", "MINDIR",
                           cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"device_target Ascend (from {os.path.join(ROOT, 'default_config.yaml')}) {FALLBACK}" in proc.stderr
    assert os.path.getsize(tmp_path / "m.mindir") > 1_000_000
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("script,args", [
    ("train.py", ["--dataset_path", "{train}"]),
    ("eval.py", ["--dataset_path", "{test}", "--checkpoint_path", "nowhere.ckpt"]),
    ("export.py", ["--ckpt_file", "nowhere.ckpt"]),
])
@pytest.mark.parametrize("target", ABSENT)
def test_named_absent_device_is_one_line_naming_the_flag(tmp_path, cifar_dirs, script, args, target):
    paths = {"train": cifar_dirs[0], "test": cifar_dirs[1]}
    proc = run_entry_point(script, *[a.format(**paths) for a in args], "--device_target", target, cwd=tmp_path)
    assert proc.returncode == 1
    assert f"error: --device_target {target}: this MindSpore installation cannot use {target}" in proc.stderr
    assert "Pass --device_target CPU" in proc.stderr and "Traceback" not in proc.stderr


def test_default_yaml_falls_back_to_cpu_for_eval(tmp_path, trained, cifar_dirs):
    out, _ = trained
    proc = run_entry_point("eval.py", "--dataset_path", cifar_dirs[1], "--checkpoint_path",
                           os.path.join(out, "mobilenetv1-2_3.ckpt"), "--width_multiplier", "0.25",
                           "--image_size", "32", "--num_samples", "32", "--batch_size", "32", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "device_target Ascend (from " in proc.stderr and FALLBACK in proc.stderr
    assert "result: {" in proc.stdout


def test_gpu_yaml_falls_back_to_cpu_for_training(tmp_path, imagenet_root):
    """default_config_gpu_imagenet.yaml says GPU; without --device_target train.py runs on CPU, in full precision."""
    assert "GPU" in ABSENT
    proc = run_entry_point("train.py", "--config_path", os.path.join(ROOT, "default_config_gpu_imagenet.yaml"),
                           "--dataset_path", imagenet_root, "--width_multiplier", "0.25", "--image_size", "64",
                           "--batch_size", "6", "--epoch_size", "1", "--save_checkpoint_path", tmp_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "device_target GPU (from " in proc.stderr and FALLBACK in proc.stderr
    assert "amp O0, CPU" in proc.stderr
    assert os.path.exists(tmp_path / "mobilenetv1-1_3.ckpt")
