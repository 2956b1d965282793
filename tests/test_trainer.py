"""Pieces of the training set-up: weight-decay groups, the mixed-precision choice, the LR start."""
import json
import os

import mindspore as ms
import pytest

from src.lr_generator import get_lr
from src.mobilenet_v1 import MobileNetV1
from src.model_utils.config import Config
from src.training.optimizer import optimizer_groups
from src.training.trainer import resolve_amp_level
from tests.conftest import TINY_MODEL, run_entry_point


def test_bn_and_bias_are_excluded_from_weight_decay():
    net = MobileNetV1(class_num=10, width_multiplier=0.25)
    decay, no_decay, order = optimizer_groups(net, 1e-4, no_decay_bn_bias=True)
    assert decay["weight_decay"] == 1e-4 and no_decay["weight_decay"] == 0.0
    assert {p.name for p in decay["params"]} == {f"network.{i}.0.weight" for i in range(27)} | {"fc.weight"}
    assert len(no_decay["params"]) == 27 * 2 + 1
    assert all(p.name.endswith(("gamma", "beta", "bias")) for p in no_decay["params"])
    assert [p.name for p in order["order_params"]] == [p.name for p in net.trainable_params()]


def test_weight_decay_on_everything_when_filter_off():
    net = MobileNetV1(class_num=10, width_multiplier=0.25)
    (group,) = optimizer_groups(net, 1e-4, no_decay_bn_bias=False)
    assert len(group["params"]) == 83


@pytest.mark.parametrize("device,level,expected", [("Ascend", "auto", "O2"), ("GPU", "auto", "O0"),
                                                    ("CPU", "auto", "O0"), ("CPU", "O3", "O3")])
def test_amp_level(device, level, expected):
    assert resolve_amp_level(Config({"device_target": device, "amp_level": level})) == expected


def test_pretrain_epoch_size_starts_the_lr_schedule_at_that_epoch(tmp_path, cifar_dirs):
    """--pretrain_epoch_size 2 of 3 epochs (4 steps each): the one epoch left runs on steps 8-11 of the
    schedule, as logged and as the optimizer (which reads lr[global_step]) counts them."""
    schedule = ["--lr_init", "0.01", "--lr_end", "0.0", "--lr_max", "0.05", "--warmup_epochs", "1",
                "--lr_decay_mode", "cosine_warmup"]
    proc = run_entry_point("train.py", "--dataset_path", cifar_dirs[0], *TINY_MODEL, "--num_samples", "64",
                           "--batch_size", "16", "--epoch_size", "3", "--pretrain_epoch_size", "2",
                           "--log_interval", "1", *schedule, "--save_checkpoint_path", tmp_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "training epochs 3-3 of 4 steps" in proc.stderr
    with open(tmp_path / "metrics.jsonl", encoding="utf-8") as f:
        steps = [r for r in map(json.loads, f) if r["type"] == "step"]
    lr = get_lr(0.01, 0.0, 0.05, 1, 3, 4, "cosine_warmup")
    assert [r["global_step"] for r in steps] == [9, 10, 11, 12]
    assert [r["lr"] for r in steps] == pytest.approx(lr[8:].tolist(), abs=1e-9)
    final = ms.load_checkpoint(os.path.join(tmp_path, "mobilenetv1-3_4.ckpt"))
    assert int(final["global_step"].asnumpy()[0]) == 12  # the optimizer started at step 8
