"""Evaluation helpers: test-time averaging over mirrored and shifted views."""
import numpy as np
import pytest
from mindspore import Tensor

from src.evaluator import ViewAveraged
from src.mobilenet_v1 import mobilenet_v1


@pytest.fixture(scope="module")
def net():
    """A small network with random weights and BN statistics that keep activations alive."""
    network = mobilenet_v1(class_num=10, width_multiplier=0.25, stem_stride=1)
    rng = np.random.default_rng(0)
    for param in network.get_parameters():
        scale = rng.uniform(0.5, 1.5, param.shape) if "moving_variance" in param.name or "gamma" in param.name \
            else rng.standard_normal(param.shape) * 0.3
        param.set_data(Tensor(scale.astype(np.float32)))
    network.set_train(False)
    return network


def shifted(x, dy, dx, s):
    """x moved dy pixels down and dx right, its edge pixels repeated into the gap (NumPy reference)."""
    padded = np.pad(x, ((0, 0), (0, 0), (s, s), (s, s)), mode="edge")
    return padded[:, :, s - dy:s - dy + x.shape[2], s - dx:s - dx + x.shape[3]]


def logits(net, x):
    return net(Tensor(np.ascontiguousarray(x))).asnumpy()


def test_flip_averaged_logits_are_the_mean_over_the_mirrored_pair(net):
    x = np.random.default_rng(1).standard_normal((3, 3, 32, 32)).astype(np.float32)
    plain, mirrored = logits(net, x), logits(net, x[..., ::-1])
    assert np.abs(plain - mirrored).max() > 1e-3  # the network is not mirror-symmetric
    np.testing.assert_allclose(ViewAveraged(net, flip=True)(Tensor(x)).asnumpy(), (plain + mirrored) / 2,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("flip", [False, True])
def test_shift_averaged_logits_are_the_mean_over_five_positions(net, flip):
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32)).astype(np.float32)
    views = [shifted(x, dy, dx, 2) for dy, dx in ((0, 0), (2, 0), (-2, 0), (0, 2), (0, -2))]
    if flip:
        views += [v[..., ::-1] for v in views]
    expected = np.mean([logits(net, v) for v in views], axis=0)
    assert np.abs(expected - logits(net, x)).max() > 1e-3  # the shifts change the answer
    np.testing.assert_allclose(ViewAveraged(net, flip=flip, shift=2)(Tensor(x)).asnumpy(), expected,
                               rtol=1e-5, atol=1e-5)


def test_one_view_is_the_plain_network(net):
    x = np.random.default_rng(3).standard_normal((2, 3, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(ViewAveraged(net)(Tensor(x)).asnumpy(), logits(net, x), rtol=1e-6, atol=1e-6)


def test_view_description_counts_the_views(net):
    assert ViewAveraged(net, flip=True).description() == "logits averaged with the mirrored image"
    assert ViewAveraged(net).description() == "one view"
    five, ten = ViewAveraged(net, shift=1).description(), ViewAveraged(net, flip=True, shift=3).description()
    assert "5 views" in five and "shifts of 1 pixel" in five and five.endswith("1 pixel")
    assert "10 views" in ten and "shifts of 3 pixels, each with its mirror" in ten
