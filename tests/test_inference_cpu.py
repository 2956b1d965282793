"""The BatchNorm-folded C++ inference forward against the network's own eval-mode cells."""
from types import SimpleNamespace

import numpy as np
import mindspore as ms
import pytest
from mindspore import Tensor

from src.cpu_kernels import KERNELS, FoldedMobileNetV1, inference_network, uses_inference_kernel
from src.mobilenet_v1 import mobilenet_v1
from tests.kernel_checks import random_weights

ALL_KERNELS = tuple(KERNELS)


def trained_looking(rng, **kwargs):
    """A classifier with random weights, BatchNorm statistics and logits of order 10 (eval mode)."""
    net = mobilenet_v1(class_num=10, **kwargs)
    weights = random_weights({p.name: tuple(p.shape) for p in net.get_parameters()}, rng)
    weights["fc.weight"].set_data(weights["fc.weight"] * 20)
    assert not ms.load_param_into_net(net, weights, strict_load=True)[0]
    net.set_train(False)
    return net


def assert_same_logits(folded, net, x):
    """Equal within 1e-5 of the largest logit (float32 sums in another order through 27 layers)."""
    expected = net(x).asnumpy()
    scale = np.abs(expected).max()
    assert scale > 1.0 and np.ptp(expected, axis=0).max() > 0.1 * scale  # logits that differ
    np.testing.assert_allclose(folded(x).asnumpy(), expected, rtol=0, atol=1e-5 * scale)


# (network options, input side, batch): the quick recipe's network, the ImageNet layout at odd and
# even sides, PyTorch/mindcv padding and activation, each with the cells or the training kernels
CASES = [(dict(width_multiplier=0.25, stem_stride=1), 32, 5),
         (dict(width_multiplier=0.5, kernels=ALL_KERNELS), 64, 3),
         (dict(width_multiplier=0.25), 33, 2),
         (dict(width_multiplier=0.25, conv_padding="symmetric", activation="relu"), 40, 2),
         (dict(width_multiplier=0.25, stem_stride=1, conv_padding="symmetric", kernels=ALL_KERNELS), 28, 4),
         (dict(width_multiplier=0.3, stem_stride=1), 32, 2)]  # 9, 19, 38 ... channels: every channel block


@pytest.mark.parametrize("options,size,batch", CASES)
def test_folded_network_gives_the_cells_logits(options, size, batch):
    rng = np.random.default_rng(size + batch)
    net = trained_looking(rng, **options)
    x = Tensor(rng.standard_normal((batch, 3, size, size)).astype(np.float32))
    assert_same_logits(FoldedMobileNetV1(net), net, x)


def test_fold_follows_the_source_weights_and_leaves_them_unchanged():
    rng = np.random.default_rng(7)
    net = trained_looking(rng, width_multiplier=0.25, stem_stride=1)
    folded = FoldedMobileNetV1(net)
    x = Tensor(rng.standard_normal((3, 3, 32, 32)).astype(np.float32))
    before = folded(x).asnumpy()
    moved = random_weights({p.name: tuple(p.shape) for p in net.get_parameters()}, np.random.default_rng(8))
    moved["fc.weight"].set_data(moved["fc.weight"] * 20)
    ms.load_param_into_net(net, moved)
    kept = {p.name: p.asnumpy().copy() for p in net.get_parameters()}
    folded.fold(net)
    assert np.abs(folded(x).asnumpy() - before).max() > 0.1
    assert_same_logits(folded, net, x)
    for p in net.get_parameters():
        np.testing.assert_array_equal(p.asnumpy(), kept[p.name])
    assert not folded.trainable_params()


def config(impl, device="CPU", amp="auto"):
    return SimpleNamespace(inference_impl=impl, device_target=device, amp_level=amp)


def test_inference_network_follows_inference_impl():
    net = mobilenet_v1(class_num=10, width_multiplier=0.25)
    assert isinstance(inference_network(net, config("auto")), FoldedMobileNetV1)
    assert isinstance(inference_network(net, config("cpp")), FoldedMobileNetV1)
    plain = inference_network(net, config("mindspore"))
    assert plain is net and not net.training
    assert not uses_inference_kernel(config("auto", device="GPU"))
    assert not uses_inference_kernel(config("auto", amp="O2"))


def test_backbones_are_refused():
    with pytest.raises(ValueError, match="features_only"):
        FoldedMobileNetV1(mobilenet_v1(features_only=True, width_multiplier=0.25))
