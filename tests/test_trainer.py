"""Pieces of the training set-up: weight-decay groups and the mixed-precision choice."""
import pytest

from src.mobilenet_v1 import MobileNetV1
from src.model_utils.config import Config
from src.trainer import optimizer_groups, resolve_amp_level


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
