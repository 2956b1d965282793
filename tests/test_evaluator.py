"""Evaluation helpers: test-time flip averaging."""
import numpy as np
from mindspore import Tensor

from src.evaluator import FlipAveraged
from src.mobilenet_v1 import mobilenet_v1


def test_flip_averaged_logits_are_the_mean_over_the_mirrored_pair():
    net = mobilenet_v1(class_num=10, width_multiplier=0.25, stem_stride=1)
    rng = np.random.default_rng(0)
    for param in net.get_parameters():  # random weights, BN statistics that keep activations alive
        scale = rng.uniform(0.5, 1.5, param.shape) if "moving_variance" in param.name or "gamma" in param.name \
            else rng.standard_normal(param.shape) * 0.3
        param.set_data(Tensor(scale.astype(np.float32)))
    net.set_train(False)
    x = rng.standard_normal((3, 3, 32, 32)).astype(np.float32)
    plain, mirrored = net(Tensor(x)).asnumpy(), net(Tensor(x[..., ::-1].copy())).asnumpy()
    assert np.abs(plain - mirrored).max() > 1e-3  # the network is not mirror-symmetric
    np.testing.assert_allclose(FlipAveraged(net)(Tensor(x)).asnumpy(), (plain + mirrored) / 2, rtol=1e-5, atol=1e-6)
