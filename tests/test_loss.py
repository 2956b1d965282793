"""Label-smoothed cross-entropy against a hand computation."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn

from src.CrossEntropySmooth import CrossEntropySmooth


def reference_loss(logits, labels, eps, classes):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    target = np.full(logits.shape, eps / (classes - 1))
    target[np.arange(len(labels)), labels] = 1 - eps
    return float(-(target * log_probs).sum(axis=1).mean())


@pytest.mark.parametrize("eps", [0.1, 0.3])
def test_smoothing_puts_eps_over_c_minus_1(eps):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((8, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 8).astype(np.int32)
    loss = CrossEntropySmooth(smooth_factor=eps, num_classes=10)(Tensor(logits), Tensor(labels))
    assert abs(float(loss.asnumpy()) - reference_loss(logits, labels, eps, 10)) < 1e-5


def test_no_smoothing_equals_plain_cross_entropy():
    logits = Tensor(np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], np.float32))
    labels = Tensor(np.array([0, 2], np.int32))
    smooth = CrossEntropySmooth(smooth_factor=0.0, num_classes=3)(logits, labels)
    plain = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")(logits, labels)
    expected = -np.mean([np.log(np.exp(2.0) / np.exp([2.0, 0.5, -1.0]).sum()),
                         np.log(np.exp(3.0) / np.exp([0.1, 0.2, 3.0]).sum())])
    assert abs(float(smooth.asnumpy()) - expected) < 1e-6
    assert abs(float(plain.asnumpy()) - expected) < 1e-6
    assert smooth.dtype == ms.float32
