"""The network: official parameter names, shapes and counts, checkpoint compatibility, outputs."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor

from src.mobilenet_v1 import MobileNetV1, mobilenet_v1


def official_parameter_shapes(class_num):
    """Names and shapes of the official model zoo network, written out from its layer table."""
    blocks = [(3, 32, 3, False)]
    channels = 32
    for out, _ in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
                   (512, 1), (512, 1), (1024, 2), (1024, 1)):
        blocks += [(channels, channels, 3, True), (channels, out, 1, False)]
        channels = out
    shapes = {}
    for i, (cin, cout, k, depthwise) in enumerate(blocks):
        shapes[f"network.{i}.0.weight"] = (cout, 1 if depthwise else cin, k, k)
        for name in ("gamma", "beta", "moving_mean", "moving_variance"):
            shapes[f"network.{i}.1.{name}"] = (cout,)
    shapes["fc.weight"] = (class_num, 1024)
    shapes["fc.bias"] = (class_num,)
    return shapes


@pytest.mark.parametrize("class_num,trainable", [(1001, 4233001), (10, 3217226)])
def test_parameter_names_shapes_and_counts(class_num, trainable):
    net = mobilenet_v1(class_num=class_num)
    params = {p.name: tuple(p.shape) for p in net.get_parameters()}
    assert params == official_parameter_shapes(class_num)
    assert len(net.trainable_params()) == 83
    assert sum(int(np.prod(p.shape)) for p in net.trainable_params()) == trainable


def test_official_checkpoint_loads_strictly(tmp_path):
    rng = np.random.default_rng(0)
    official = [{"name": name, "data": Tensor(rng.standard_normal(shape).astype(np.float32))}
                for name, shape in official_parameter_shapes(1001).items()]
    path = str(tmp_path / "official.ckpt")
    ms.save_checkpoint(official, path)
    net = mobilenet_v1(class_num=1001)
    not_loaded, unused = ms.load_param_into_net(net, ms.load_checkpoint(path), strict_load=True)
    assert not not_loaded and not unused
    expected = {item["name"]: item["data"].asnumpy() for item in official}
    for p in net.get_parameters():
        np.testing.assert_array_equal(p.asnumpy(), expected[p.name])


def test_weight_init_follows_official_scheme():
    net = mobilenet_v1(class_num=1001)
    fc = net.fc.weight.asnumpy()
    assert 0.0095 < fc.std() < 0.0105 and abs(fc.mean()) < 1e-3  # TruncatedNormal(sigma=0.01)
    stem = net.network[0][0].weight.asnumpy()  # XavierUniform: bound sqrt(6 / (fan_in + fan_out))
    bound = np.sqrt(6.0 / (3 * 9 + 32 * 9))
    assert np.abs(stem).max() <= bound and np.abs(stem).max() > 0.8 * bound


@pytest.mark.parametrize("size,class_num", [(32, 10), (97, 5)])
def test_logits_shape_for_any_resolution(size, class_num):
    net = MobileNetV1(class_num=class_num, width_multiplier=0.25)
    net.set_train(False)
    out = net(Tensor(np.random.rand(2, 3, size, size).astype(np.float32)))
    assert out.shape == (2, class_num)


def test_same_padding_and_features_only():
    net = MobileNetV1(features_only=True, width_multiplier=0.5)
    net.set_train(False)
    outputs = net(Tensor(np.random.rand(1, 3, 65, 65).astype(np.float32)))
    assert len(outputs) == 27
    # TF-style 'same' padding: a stride-2 layer maps n to ceil(n / 2): 65 -> 33 -> 17 -> 9 -> 5 -> 3
    assert outputs[0].shape == (1, 16, 33, 33)
    assert outputs[-1].shape == (1, 512, 3, 3)
    assert not hasattr(net, "fc")


@pytest.mark.parametrize("alpha,millions", [(0.75, 2.6), (0.5, 1.3), (0.25, 0.5)])
def test_width_multiplier_parameter_counts_match_paper(alpha, millions):
    net = mobilenet_v1(class_num=1000, width_multiplier=alpha)
    params = sum(int(np.prod(p.shape)) for p in net.trainable_params() if "gamma" not in p.name
                 and "beta" not in p.name)
    assert abs(params / 1e6 - millions) / millions < 0.1
    names = {p.name for p in net.get_parameters()}
    assert names == set(official_parameter_shapes(1000))


def test_stem_stride_one_keeps_small_inputs_at_full_resolution():
    net = MobileNetV1(features_only=True, width_multiplier=0.25, stem_stride=1)
    net.set_train(False)
    outputs = net(Tensor(np.random.rand(1, 3, 32, 32).astype(np.float32)))
    assert outputs[0].shape == (1, 8, 32, 32) and outputs[-1].shape == (1, 256, 2, 2)
    assert {p.name for p in net.get_parameters()} == {p.name for p in MobileNetV1(
        features_only=True, width_multiplier=0.25).get_parameters()}
