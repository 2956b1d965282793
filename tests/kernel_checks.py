"""Checks shared by the tests of the C++ CPU kernels (tests/test_*_cpu.py)."""
import numpy as np
import mindspore as ms
from mindspore import Tensor

from src.mobilenet_v1 import mobilenet_v1


def output_and_gradients(cell, x, grad_out):
    """The cell's output, and the gradients of sum(output * grad_out) by the input and by its weight."""
    def weighted_sum(inputs):
        return (cell(inputs) * grad_out).sum()
    dx, (dw,) = ms.grad(weighted_sum, grad_position=0, weights=cell.trainable_params())(x)
    return cell(x).asnumpy(), dx.asnumpy(), dw.asnumpy()


def random_weights(shapes, rng):
    """Weights under which activations neither die nor sit at ReLU6's ceiling through all 27 blocks, so
    every layer's output reaches the logits: He-normal convolution and Dense weights (std sqrt(2 / fan_in)),
    BatchNorm scales and moving variances near 1, small shifts, moving means and bias."""
    def draw(name, shape):
        kind = name.rsplit(".", 1)[1]
        if kind == "weight":
            return rng.normal(0.0, np.sqrt(2.0 / np.prod(shape[1:])), shape)
        if kind in ("gamma", "moving_variance"):
            return rng.uniform(0.5, 1.5, shape)
        return rng.normal(0.0, 0.1, shape)  # beta, moving_mean, fc.bias
    return {name: ms.Parameter(Tensor(draw(name, shape).astype(np.float32)), name=name)
            for name, shape in shapes.items()}


def assert_networks_match(kernel, **kwargs):
    """A MobileNetV1 with the C++ ``kernel`` (e.g. "depthwise") has the parameter names
    and shapes of the one with MindSpore's cells, and gives its inference outputs on the same weights
    (outputs that differ from image to image: a comparison of constant logits would prove nothing)."""
    cpp, official = mobilenet_v1(kernels=(kernel,), **kwargs), mobilenet_v1(**kwargs)
    shapes = {p.name: tuple(p.shape) for p in official.get_parameters()}
    assert {p.name: tuple(p.shape) for p in cpp.get_parameters()} == shapes
    rng = np.random.default_rng(0)
    weights = random_weights(shapes, rng)
    for net in (cpp, official):
        assert not ms.load_param_into_net(net, weights, strict_load=True)[0]
        net.set_train(False)
    x = Tensor(rng.standard_normal((4, 3, 32, 32)).astype(np.float32))
    expected = official(x).asnumpy()
    scale = np.abs(expected).max()
    spread = min(np.abs(expected[i] - expected[j]).max() for i in range(4) for j in range(i))
    assert spread > 0.05 * scale, f"images' logits differ by {spread:.2g} only (largest logit {scale:.2g})"
    np.testing.assert_allclose(cpp(x).asnumpy(), expected, rtol=1e-4, atol=1e-4 * scale)
    return cpp
