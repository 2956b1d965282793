"""Weights of independent implementations (timm, mindcv), converted, give the same logits here."""
import mindcv.models  # test-only dependencies, requirements-test.txt
import numpy as np
import pytest
import safetensors.torch as safetensors_torch
import timm
import torch
import mindspore as ms

from src.checkpoint import load_for_inference
from src.convert_weights import WeightConversionError, main, read_safetensors, read_torch_archive
from src.mobilenet_v1 import MobileNetV1

TOLERANCE = 1e-4


def randomize_batchnorm(model, seed):
    """Non-trivial BN statistics and affine terms, so a mix-up of BN tensors changes the logits."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)


def our_logits(ckpt, images, class_num, width_multiplier=1.0, conv_padding="symmetric", activation="relu6"):
    net = MobileNetV1(class_num=class_num, width_multiplier=width_multiplier, conv_padding=conv_padding,
                      activation=activation)
    load_for_inference(net, str(ckpt))
    net.set_train(False)
    return net(ms.Tensor(images)).asnumpy()


@pytest.fixture(scope="module")
def timm_model():
    torch.manual_seed(0)
    model = timm.create_model("mobilenetv1_100", pretrained=False, num_classes=1000)
    randomize_batchnorm(model, seed=1)
    return model.eval()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(2).standard_normal((2, 3, 224, 224)).astype(np.float32)


@pytest.fixture(scope="module")
def timm_logits(timm_model, images):
    with torch.no_grad():
        return timm_model(torch.from_numpy(images)).numpy()


@pytest.mark.parametrize("file_name", ["model.safetensors", "checkpoint.pth.tar"])
def test_timm_weights_give_timm_logits(tmp_path, timm_model, images, timm_logits, file_name, capsys):
    source = tmp_path / file_name
    if file_name.endswith(".safetensors"):
        safetensors_torch.save_file(timm_model.state_dict(), str(source))
    else:  # a timm training checkpoint: the state dict inside a dict, with DDP's module. prefix
        state = {f"module.{k}": v for k, v in timm_model.state_dict().items()}
        torch.save({"epoch": 3, "arch": "mobilenetv1_100", "state_dict": state}, str(source))
    ckpt = tmp_path / "converted.ckpt"
    assert main(["--source", "timm", "--input", str(source), "--output", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "--width_multiplier 1.0 --class_num 1000 --conv_padding symmetric --activation relu6" in out

    ours = our_logits(ckpt, images, 1000)
    assert np.abs(timm_logits[0] - timm_logits[1]).max() > 100 * TOLERANCE  # the logits depend on the image
    assert np.abs(ours - timm_logits).max() <= TOLERANCE
    # the official TF-style padding is a different network for these weights
    assert np.abs(our_logits(ckpt, images, 1000, conv_padding="same") - timm_logits).max() > 100 * TOLERANCE


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


def test_torch_archive_reader_matches_torch(tmp_path):
    tensors = {"strided": torch.arange(12, dtype=torch.float32).reshape(3, 4).t(),
               "half": torch.linspace(-1, 1, 5, dtype=torch.float16),
               "offset": torch.arange(10, dtype=torch.int64)[3:7]}
    torch.save(tensors, str(tmp_path / "t.pth"))
    loaded = read_torch_archive(str(tmp_path / "t.pth"))
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.numpy().dtype
        np.testing.assert_array_equal(loaded[name], tensor.numpy())


def test_torch_archive_with_code_objects_is_refused(tmp_path):
    torch.save({"weights": torch.zeros(2), "optimizer": torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], 0.1)},
               str(tmp_path / "full.pth"))
    with pytest.raises(WeightConversionError, match="only tensors can be read"):
        read_torch_archive(str(tmp_path / "full.pth"))


def test_bad_inputs_are_named(tmp_path, timm_model, capsys):
    truncated = tmp_path / "model.safetensors"
    safetensors_torch.save_file(timm_model.state_dict(), str(truncated))
    truncated.write_bytes(truncated.read_bytes()[:-1000])
    with pytest.raises(WeightConversionError, match="truncated"):
        read_safetensors(str(truncated))

    other = tmp_path / "resnet.safetensors"
    safetensors_torch.save_file({"conv1.weight": torch.zeros(64, 3, 7, 7)}, str(other))
    assert main(["--source", "timm", "--input", str(other), "--output", str(tmp_path / "x.ckpt")]) == 1
    assert "is not a timm MobileNetV1" in capsys.readouterr().err

    head = tmp_path / "mobilenetv1_100h.safetensors"
    safetensors_torch.save_file(timm.create_model("mobilenetv1_100h").state_dict(), str(head))
    assert main(["--source", "timm", "--input", str(head), "--output", str(tmp_path / "x.ckpt")]) == 1
    assert "bn2.bias" in capsys.readouterr().err  # the head conv's BN, named

    assert main(["--source", "timm", "--input", str(tmp_path / "absent.pth"), "--output", "x.ckpt"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x.ckpt").exists()
