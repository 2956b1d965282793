"""Checkpoint loading policies: fine-tuning across class counts, strict inference loads, bad files."""
import numpy as np
import pytest
import mindspore as ms

from src.checkpoint import CheckpointError, load_for_inference, load_pretrained
from src.mobilenet_v1 import MobileNetV1


@pytest.fixture(scope="module")
def ckpt_1001(tmp_path_factory):
    net = MobileNetV1(class_num=1001, width_multiplier=0.25)
    path = str(tmp_path_factory.mktemp("ckpt") / "imagenet.ckpt")
    ms.save_checkpoint(net, path)
    return path, {p.name: p.asnumpy().copy() for p in net.get_parameters()}


def test_pretrained_with_other_class_count_reinitialises_the_head(ckpt_1001, caplog):
    path, saved = ckpt_1001
    net = MobileNetV1(class_num=10, width_multiplier=0.25)
    fresh_fc = net.fc.weight.asnumpy().copy()
    with caplog.at_level("INFO"):
        untouched = load_pretrained(net, path)
    assert sorted(untouched) == ["fc.bias", "fc.weight"]
    assert "re-initialised" in caplog.text
    np.testing.assert_array_equal(net.network[3][0].weight.asnumpy(), saved["network.3.0.weight"])
    np.testing.assert_array_equal(net.fc.weight.asnumpy(), fresh_fc)


def test_pretrained_with_other_width_is_an_error(ckpt_1001):
    with pytest.raises(CheckpointError, match="does not fit the network"):
        load_pretrained(MobileNetV1(class_num=1001, width_multiplier=0.5), ckpt_1001[0])


def test_inference_load_is_strict_and_explains_class_count(ckpt_1001):
    with pytest.raises(CheckpointError, match="It has 1001 classes, the config 10"):
        load_for_inference(MobileNetV1(class_num=10, width_multiplier=0.25), ckpt_1001[0])
    net = MobileNetV1(class_num=1001, width_multiplier=0.25)
    load_for_inference(net, ckpt_1001[0])
    np.testing.assert_array_equal(net.fc.weight.asnumpy(), ckpt_1001[1]["fc.weight"])


@pytest.mark.parametrize("content", [b"", b"not a checkpoint" * 10, None])
def test_corrupt_truncated_or_missing_file_names_the_file(tmp_path, ckpt_1001, content):
    path = tmp_path / "bad.ckpt"
    if content is None:
        data = open(ckpt_1001[0], "rb").read()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.ckpt"):
        load_for_inference(MobileNetV1(class_num=1001, width_multiplier=0.25), str(path))
    with pytest.raises(CheckpointError, match="missing.ckpt"):
        load_pretrained(MobileNetV1(class_num=1001, width_multiplier=0.25), str(tmp_path / "missing.ckpt"))
