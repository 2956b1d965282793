"""Softmax cross-entropy with the model zoo's label smoothing.

The true class gets 1 - eps and every other class eps / (C - 1) (not the uniform eps / C
of PyTorch), so losses match the official repository's logs.
"""
import mindspore as ms
from mindspore import nn, ops, Tensor


class CrossEntropySmooth(nn.LossBase):
    """Cross-entropy over logits with sparse (class index) or one-hot labels."""

    def __init__(self, sparse=True, reduction="mean", smooth_factor=0., num_classes=1000):
        super().__init__()
        self.onehot = ops.OneHot()
        self.sparse = sparse
        self.num_classes = num_classes
        self.on_value = Tensor(1.0 - smooth_factor, ms.float32)
        self.off_value = Tensor(1.0 * smooth_factor / (num_classes - 1), ms.float32)
        self.ce = nn.SoftmaxCrossEntropyWithLogits(reduction=reduction)

    def construct(self, logit, label):
        if self.sparse:
            label = self.onehot(label, self.num_classes, self.on_value, self.off_value)
        return self.ce(logit, label)


def create_loss(config):
    """Label-smoothed cross-entropy when ``use_label_smooth``, plain sparse cross-entropy otherwise."""
    if config.use_label_smooth:
        return CrossEntropySmooth(sparse=True, reduction="mean", smooth_factor=config.label_smooth_factor,
                                  num_classes=config.class_num)
    return nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
