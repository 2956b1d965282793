"""The cross-entropy losses against a hand computation, at ordinary and at extreme logit gaps."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor

from src.CrossEntropySmooth import CrossEntropySmooth, SoftmaxCrossEntropy, create_loss
from src.model_utils.config import Config


def reference_loss(logits, labels, eps, classes):
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    target = np.full(logits.shape, eps / (classes - 1))
    target[np.arange(len(labels)), labels] = 1 - eps
    return float(-(target * log_probs).sum(axis=1).mean())


def loss_of(loss_fn, logits, labels):
    return float(loss_fn(Tensor(np.asarray(logits, np.float32)), Tensor(np.asarray(labels, np.int32))).asnumpy())


@pytest.mark.parametrize("eps", [0.1, 0.3])
def test_smoothing_puts_eps_over_c_minus_1(eps):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((8, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 8).astype(np.int32)
    loss = loss_of(CrossEntropySmooth(smooth_factor=eps, num_classes=10), logits, labels)
    assert abs(loss - reference_loss(logits, labels, eps, 10)) < 1e-5


def test_no_smoothing_equals_plain_cross_entropy():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], np.float32)
    expected = -np.mean([np.log(np.exp(2.0) / np.exp([2.0, 0.5, -1.0]).sum()),
                         np.log(np.exp(3.0) / np.exp([0.1, 0.2, 3.0]).sum())])
    loss = CrossEntropySmooth(smooth_factor=0.0, num_classes=3)(Tensor(logits), Tensor(np.array([0, 2], np.int32)))
    assert abs(float(loss.asnumpy()) - expected) < 1e-6
    assert loss.dtype == ms.float32


@pytest.mark.parametrize("gap", [100.0, 1000.0, 1e4])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_large_logit_gap_gives_the_gap_not_inf(gap, eps):
    """A wrong class leading by ``gap``: the loss is (1 - eps) * gap + the eps share, finite in float32.

    MindSpore's own SoftmaxCrossEntropyWithLogits returns inf here from a gap of about 88."""
    logits, labels = [[gap, 0.0, 0.0]], [1]
    loss = loss_of(CrossEntropySmooth(smooth_factor=eps, num_classes=3), logits, labels)
    expected = reference_loss(np.array(logits), np.array(labels), eps, 3)
    assert np.isfinite(loss)
    assert expected == pytest.approx((1 - eps / 2) * gap, rel=1e-6)  # the true class and the third share ~gap
    assert loss == pytest.approx(expected, rel=1e-6)


def test_gradient_is_finite_and_matches_softmax_minus_target_at_a_large_gap():
    logits = Tensor(np.array([[500.0, 0.0, 0.0]], np.float32))
    labels = Tensor(np.array([1], np.int32))
    grad = ms.grad(CrossEntropySmooth(smooth_factor=0.0, num_classes=3))(logits, labels).asnumpy()
    np.testing.assert_allclose(grad, [[1.0, -1.0, 0.0]], atol=1e-6)


def test_soft_targets_weigh_the_log_probabilities():
    """Dense labels (mixup/one-hot) give -sum(target * log_softmax), the same as sparse for one-hot rows."""
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -0.5, 0.0]], np.float32)
    target = np.array([[0.25, 0.75, 0.0], [0.0, 0.0, 1.0]], np.float32)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = SoftmaxCrossEntropy()(Tensor(logits), Tensor(target))
    assert float(loss.asnumpy()) == pytest.approx(float(-(target * log_probs).sum(axis=1).mean()), rel=1e-6)
    dense = CrossEntropySmooth(sparse=False, num_classes=3)(Tensor(logits[1:]), Tensor(target[1:]))
    assert float(dense.asnumpy()) == pytest.approx(loss_of(CrossEntropySmooth(num_classes=3), logits[1:], [2]))


@pytest.mark.parametrize("use_label_smooth,expected_eps", [(True, 0.2), (False, 0.0)])
def test_create_loss_smooths_only_when_asked(use_label_smooth, expected_eps):
    config = Config({"use_label_smooth": use_label_smooth, "label_smooth_factor": 0.2, "class_num": 10})
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((6, 10)).astype(np.float32) * 3
    labels = rng.integers(0, 10, 6)
    loss = loss_of(create_loss(config), logits, labels)
    assert loss == pytest.approx(reference_loss(logits, labels, expected_eps, 10), rel=1e-5)
    assert loss != pytest.approx(reference_loss(logits, labels, 0.2 - expected_eps, 10), rel=1e-3)
