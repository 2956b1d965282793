"""Weights of independent implementations (timm, mindcv), converted, give the same logits here.

timm's side is recorded in tests/fixtures/ (regenerated with ``python -m tests.fixtures.make_timm_fixture``
where torch and timm are installed): a timm MobileNetV1 (width 0.25, 10 classes, BN statistics
randomised) as timm writes it, .safetensors and a torch.save training checkpoint, and the logits timm
computes with it, so these tests need neither PyTorch nor timm.
"""
import json
import struct
from pathlib import Path

import mindcv.models  # test-only dependency, requirements-test.txt
import numpy as np
import pytest
import mindspore as ms

from src.checkpoint import load_for_inference
from src.tools.convert_weights import WeightConversionError, main, read_safetensors, read_torch_archive
from src.mobilenet_v1 import MobileNetV1

TOLERANCE = 1e-4
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TIMM = "timm_mobilenetv1_025"  # tests/fixtures/make_timm_fixture.py


def our_logits(ckpt, images, class_num, width_multiplier=1.0, conv_padding="symmetric", activation="relu6"):
    net = MobileNetV1(class_num=class_num, width_multiplier=width_multiplier, conv_padding=conv_padding,
                      activation=activation)
    load_for_inference(net, str(ckpt))
    net.set_train(False)
    return net(ms.Tensor(images)).asnumpy()


def write_zero_safetensors(path, header):
    """A .safetensors file with this header (names, dtypes, shapes, offsets) and all-zero tensor data."""
    raw = json.dumps(header).encode()
    end = max(info["data_offsets"][1] for name, info in header.items() if name != "__metadata__")
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(end))


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(2).standard_normal((2, 3, 224, 224)).astype(np.float32)


@pytest.fixture(scope="module")
def timm_recorded():
    """(images, timm's eval-mode logits for them) as recorded with the fixture's weights."""
    with np.load(FIXTURES / f"{TIMM}_logits.npz") as recorded:
        return recorded["images"], recorded["logits"]


@pytest.mark.parametrize("file_name", [f"{TIMM}.safetensors", f"{TIMM}.pth.tar"])
def test_timm_weights_give_timm_logits(tmp_path, timm_recorded, file_name, capsys):
    # .pth.tar: a timm training checkpoint, the state dict inside a dict, with DDP's module. prefix
    images, timm_logits = timm_recorded
    ckpt = tmp_path / "converted.ckpt"
    assert main(["--source", "timm", "--input", str(FIXTURES / file_name), "--output", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "--width_multiplier 0.25 --class_num 10 --conv_padding symmetric --activation relu6" in out

    ours = our_logits(ckpt, images, 10, width_multiplier=0.25)
    assert np.abs(timm_logits[0] - timm_logits[1]).max() > 100 * TOLERANCE  # the logits depend on the image
    assert np.abs(ours - timm_logits).max() <= TOLERANCE
    # the official TF-style padding is a different network for these weights
    assert np.abs(our_logits(ckpt, images, 10, width_multiplier=0.25, conv_padding="same")
                  - timm_logits).max() > 100 * TOLERANCE


def test_mindcv_weights_give_mindcv_logits(tmp_path, images):
    ms.set_seed(3)
    theirs = mindcv.models.create_model("mobilenet_v1_050", num_classes=1001)
    rng = np.random.default_rng(4)
    for param in theirs.get_parameters():  # He-scaled convolutions and BN statistics away from 0/1, as after training
        if len(param.shape) == 4:
            fan_in = np.prod(param.shape[1:])
            param.set_data(ms.Tensor(rng.standard_normal(param.shape).astype(np.float32) * np.sqrt(2 / fan_in)))
        elif param.name.endswith(("moving_mean", "beta")):
            param.set_data(ms.Tensor(rng.standard_normal(param.shape).astype(np.float32) * 0.1))
        elif param.name.endswith(("moving_variance", "gamma")):
            param.set_data(ms.Tensor(rng.uniform(0.5, 1.5, param.shape).astype(np.float32)))
    theirs.set_train(False)
    expected = theirs(ms.Tensor(images)).asnumpy()
    source = tmp_path / "mobilenet_v1_050.ckpt"
    ms.save_checkpoint(theirs, str(source))

    ckpt = tmp_path / "converted.ckpt"
    assert main(["--source", "mindcv", "--input", str(source), "--output", str(ckpt)]) == 0
    ours = our_logits(ckpt, images, 1001, width_multiplier=0.5, activation="relu")
    assert np.abs(expected[0] - expected[1]).max() > 100 * TOLERANCE  # the logits depend on the image
    assert np.abs(ours - expected).max() <= TOLERANCE
    assert np.abs(our_logits(ckpt, images, 1001, width_multiplier=0.5, activation="relu", conv_padding="same")
                  - expected).max() > 100 * TOLERANCE


def test_torch_archive_reader_matches_torch():
    # torch.save of a transposed view, a float16 tensor and a view at a storage offset; .npz: tensor.numpy()
    loaded = read_torch_archive(str(FIXTURES / "torch_tensors.pth"))
    with np.load(FIXTURES / "torch_tensors.npz") as expected:
        np.testing.assert_array_equal(expected["strided"], np.arange(12, dtype=np.float32).reshape(3, 4).T)
        assert sorted(loaded) == sorted(expected.files)
        for name in expected.files:
            assert loaded[name].dtype == expected[name].dtype
            np.testing.assert_array_equal(loaded[name], expected[name])


def test_torch_archive_with_code_objects_is_refused():
    # torch.save of {"weights": tensor, "optimizer": torch.optim.SGD(...)}
    with pytest.raises(WeightConversionError, match="only tensors can be read"):
        read_torch_archive(str(FIXTURES / "torch_optimizer.pth"))


def test_bad_inputs_are_named(tmp_path, capsys):
    truncated = tmp_path / "model.safetensors"
    truncated.write_bytes((FIXTURES / f"{TIMM}.safetensors").read_bytes()[:-1000])
    with pytest.raises(WeightConversionError, match="truncated"):
        read_safetensors(str(truncated))

    other = tmp_path / "resnet.safetensors"
    write_zero_safetensors(other, {"conv1.weight": {"dtype": "F32", "shape": [64, 3, 7, 7],
                                                    "data_offsets": [0, 64 * 3 * 7 * 7 * 4]}})
    assert main(["--source", "timm", "--input", str(other), "--output", str(tmp_path / "x.ckpt")]) == 1
    assert "is not a timm MobileNetV1" in capsys.readouterr().err

    head = tmp_path / "mobilenetv1_100h.safetensors"  # timm's header of the head-conv variant, zero data
    write_zero_safetensors(head, json.loads((FIXTURES / f"{TIMM}h_header.json").read_text()))
    assert main(["--source", "timm", "--input", str(head), "--output", str(tmp_path / "x.ckpt")]) == 1
    assert "bn2.bias" in capsys.readouterr().err  # the head conv's BN, named

    assert main(["--source", "timm", "--input", str(tmp_path / "absent.pth"), "--output", "x.ckpt"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x.ckpt").exists()
