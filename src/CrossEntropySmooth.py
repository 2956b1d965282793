"""Softmax cross-entropy with the model zoo's label smoothing, in a numerically stable form.

The true class gets 1 - eps and every other class eps / (C - 1) (not the uniform eps / C
of PyTorch), so losses match the official repository's logs.

The loss is computed as ``-sum(target * log_softmax(logits))`` in float32, with the row maximum
subtracted before the exponent (log-sum-exp), so a logit gap of 1e4 gives a loss of 1e4. MindSpore 2.10's
``nn.SoftmaxCrossEntropyWithLogits`` on CPU returns inf (sparse labels) or a clipped value
(dense labels) once a wrong class leads the true one by about 88, which stopped healthy runs.
"""
import mindspore as ms
from mindspore import nn, ops, Tensor


class SoftmaxCrossEntropy(nn.LossBase):
    """Cross-entropy between logits and a target distribution (rows summing to 1), any logit range."""

    def cross_entropy(self, logit, target):
        # written out: nn.LogSoftmax on CPU is off by up to 3e-6 on ordinary logits
        logit = ops.cast(logit, ms.float32)
        shifted = logit - ops.stop_gradient(logit.max(axis=-1, keepdims=True))
        log_probs = shifted - ops.log(ops.exp(shifted).sum(axis=-1, keepdims=True))
        return self.get_loss(-(ops.cast(target, ms.float32) * log_probs).sum(axis=-1))

    def construct(self, logit, target):
        return self.cross_entropy(logit, target)


class CrossEntropySmooth(SoftmaxCrossEntropy):
    """Cross-entropy over logits with sparse (class index) or one-hot / soft labels.

    ``sparse`` labels are smoothed here; labels that already are distributions ([batch, classes],
    e.g. mixup's, smoothed by the data pipeline) are used as they are, whatever ``sparse`` says,
    so one loss serves training with soft labels and validation with class indices.
    """

    def __init__(self, sparse=True, reduction="mean", smooth_factor=0., num_classes=1000):
        super().__init__(reduction)
        self.onehot = ops.OneHot()
        self.sparse = sparse
        self.num_classes = num_classes
        self.on_value = Tensor(1.0 - smooth_factor, ms.float32)
        self.off_value = Tensor(1.0 * smooth_factor / (num_classes - 1), ms.float32)

    def construct(self, logit, label):
        if self.sparse and label.ndim == 1:
            label = self.onehot(label, self.num_classes, self.on_value, self.off_value)
        return self.cross_entropy(logit, label)


def create_loss(config):
    """Label-smoothed cross-entropy when ``use_label_smooth``, plain sparse cross-entropy otherwise.

    Both are the stable form above; the plain one is the smoothed one with eps = 0.
    """
    smooth_factor = config.label_smooth_factor if config.use_label_smooth else 0.0
    return CrossEntropySmooth(sparse=True, reduction="mean", smooth_factor=smooth_factor,
                              num_classes=config.class_num)
