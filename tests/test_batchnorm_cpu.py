"""The C++ BatchNorm + activation kernel against nn.BatchNorm2d followed by ReLU6/ReLU."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn

from src.cpu_kernels.batchnorm import BatchNormActivationCPU
from tests.kernel_checks import assert_network_trains_as_cells

# (N, C, H, W): planes under 64 pixels (1x1 to 7x7: read image by image), with a compile-time size (8x8)
# and others (9x9).
SHAPES = [(4, 3, 5, 3), (16, 6, 4, 4), (2, 5, 1, 1), (8, 4, 2, 2), (3, 2, 8, 8), (2, 3, 7, 7), (2, 3, 9, 9)]


def _pair(channels, activation, rng):
    """The kernel's cell and the MindSpore cells it replaces, with the same random gamma and beta."""
    fast = BatchNormActivationCPU(channels, activation)
    ref = nn.SequentialCell([nn.BatchNorm2d(channels), nn.get_activation(activation)])
    for name in ("gamma", "beta"):
        value = Tensor(rng.uniform(0.5, 2.0 if name == "gamma" else 1.0, channels).astype(np.float32))
        getattr(fast, name).set_data(value)
        getattr(ref[0], name).set_data(value)
    return fast, ref


def _train_step(cell, x, grad_out):
    """Output, input gradient and gamma/beta gradients of one training-mode call (plus the forward
    run by ms.grad: moving statistics are updated twice)."""
    cell.set_train(True)

    def weighted_sum(inputs):
        return (cell(inputs) * grad_out).sum()
    dx, grads = ms.grad(weighted_sum, grad_position=0, weights=cell.trainable_params())(x)
    return [cell(x).asnumpy(), dx.asnumpy()] + [g.asnumpy() for g in grads]


@pytest.mark.parametrize("activation", ["relu6", "relu"])
@pytest.mark.parametrize("shape", SHAPES)
def test_kernel_matches_batchnorm2d_and_activation(shape, activation):
    rng = np.random.default_rng(shape[2] * 10 + shape[3])
    fast, ref = _pair(shape[1], activation, rng)
    x = Tensor((rng.standard_normal(shape) * 3 + 1).astype(np.float32))  # both clipping ends of ReLU6 occur
    grad_out = Tensor(rng.standard_normal(shape).astype(np.float32))
    got, expected = _train_step(fast, x, grad_out), _train_step(ref, x, grad_out)
    for name, a, b in zip(("y", "dx", "dgamma", "dbeta"), got, expected):
        np.testing.assert_allclose(a, b, atol=2e-5 * max(1.0, np.abs(b).max()), err_msg=name)
    for name in ("moving_mean", "moving_variance"):  # momentum 0.9, unbiased variance, as nn.BatchNorm2d
        np.testing.assert_allclose(getattr(fast, name).asnumpy(), getattr(ref[0], name).asnumpy(), atol=1e-5)
    fast.set_train(False)
    ref.set_train(False)
    np.testing.assert_allclose(fast(x).asnumpy(), ref(x).asnumpy(), atol=1e-5)  # inference: moving statistics


@pytest.mark.parametrize("padding", ["same", "symmetric"])
def test_networks_share_parameters_gradients_and_statistics(padding):
    assert_network_trains_as_cells(("depthwise", "batchnorm"), class_num=10, width_multiplier=0.25, stem_stride=1,
                                   conv_padding=padding)
