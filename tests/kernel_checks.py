"""Checks shared by the tests of the C++ CPU kernels (tests/test_*_cpu.py)."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn

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


def assert_network_trains_as_cells(kernels, size=32, **kwargs):
    """A MobileNetV1 with the C++ ``kernels``, on the weights of one with MindSpore's cells, gives its training
    loss within 1e-5, every gradient within 5 % and its updated moving statistics within 1e-4.

    Batch 32: the last BatchNorms normalise 2x2 planes, and over 8 images (32 values) their backward is
    ill-conditioned enough that float rounding alone moved the stem's gradient by 6 % on a Xeon VM. Sums
    are taken in another order, BatchNorm's backward amplifies that towards the input, and an activation
    on a ReLU6 edge may pass or block its gradient: whole tensors are compared (relative L2 distance,
    measured up to 1.3e-2). A wrong formula is off by about 1."""
    ms.set_seed(1)
    cpp, official = mobilenet_v1(kernels=kernels, **kwargs), mobilenet_v1(**kwargs)
    params = {p.name: p for p in official.get_parameters()}
    assert {p.name: tuple(p.shape) for p in cpp.get_parameters()} == {n: tuple(p.shape) for n, p in params.items()}
    assert not ms.load_param_into_net(cpp, {n: ms.Parameter(Tensor(p.asnumpy()), name=n) for n, p in params.items()},
                                      strict_load=True)[0]
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((32, 3, size, size)).astype(np.float32))
    labels = Tensor(rng.integers(0, 10, 32).astype(np.int32))
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    results = []
    for net in (cpp, official):
        net.set_train(True)
        weights = net.trainable_params()
        loss, grads = ms.value_and_grad(nn.WithLossCell(net, loss_fn), None, weights)(x, labels)
        results.append((float(loss.asnumpy()), {w.name: g.asnumpy() for w, g in zip(weights, grads)},
                        {p.name: p.asnumpy() for p in net.get_parameters()}))
    (loss, grads, state), (ref_loss, ref_grads, ref_state) = results
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    assert grads.keys() == ref_grads.keys()
    for name, grad in grads.items():
        distance = np.linalg.norm(grad - ref_grads[name]) / np.linalg.norm(ref_grads[name])
        assert distance < 5e-2, (name, distance)
    for name in state:  # the moving statistics were updated alike by the forward pass
        np.testing.assert_allclose(state[name], ref_state[name], rtol=1e-4, atol=1e-5, err_msg=name)
    return cpp
