"""Evaluation of a checkpoint on the whole evaluation set."""
import logging

from mindspore import nn, ops
from mindspore.train import Model, Top1CategoricalAccuracy, TopKCategoricalAccuracy

from src.checkpoint import load_for_inference
from src.cpu_kernels import FoldedMobileNetV1, inference_network, uses_inference_kernel
from src.CrossEntropySmooth import create_loss
from src.dataset import create_dataset_from_config, dataset_folder
from src.mobilenet_v1 import create_network
from src.model_utils.errors import UserInputError

logger = logging.getLogger(__name__)


def accuracy_metrics(class_num):
    """Top-1 and top-5 metrics; with 5 classes or fewer every label is in the top 5 (top-5 = 1.0)."""
    return {"top_1_accuracy": Top1CategoricalAccuracy(), "top_5_accuracy": TopKCategoricalAccuracy(min(5, class_num))}


class ViewAveraged(nn.Cell):
    """Logits averaged over several views of each image (test-time augmentation).

    The views are the image itself and, with ``shift`` > 0, copies moved ``shift`` pixels up, down,
    left and right (the edge pixels repeated into the gap); with ``flip``, each of those and its
    left-right mirror. One view only (no flip, no shift) is the plain network.
    """

    def __init__(self, network, flip=False, shift=0):
        super().__init__()
        self.network = network
        self.flip = flip
        self.shift = shift
        self.offsets = ((0, 0),) + (((shift, 0), (-shift, 0), (0, shift), (0, -shift)) if shift else ())
        self.view_count = len(self.offsets) * (2 if flip else 1)

    def construct(self, x):
        height, width = x.shape[2], x.shape[3]
        s = self.shift
        total = self._logits(x)  # offsets[0] is (0, 0): the image itself
        if s:
            padded = ops.pad(x, (s, s, s, s), mode="replicate")
            for dy, dx in self.offsets[1:]:
                total = total + self._logits(padded[:, :, s + dy:s + dy + height, s + dx:s + dx + width])
        return total / self.view_count

    def _logits(self, view):
        """The view's logits, plus its mirror's with ``flip``."""
        logits = self.network(view)
        if self.flip:
            logits = logits + self.network(ops.flip(view, (3,)))
        return logits

    def description(self):
        """The log's words for the views averaged."""
        if not self.shift:
            return "logits averaged with the mirrored image" if self.flip else "one view"
        pixels = "1 pixel" if self.shift == 1 else f"{self.shift} pixels"
        mirror = ", each with its mirror" if self.flip else ""
        return f"logits averaged over {self.view_count} views: the image and 4 shifts of {pixels}{mirror}"


class Validator:
    """Top-1/top-5 of a training network's current weights, measured as eval.py measures them.

    With the C++ inference kernel the weights are folded again before every evaluation (one graph,
    compiled once, for the whole run); otherwise the training Model's own eval network runs.
    """

    def __init__(self, config, net, model):
        self.net = net
        self.folded = FoldedMobileNetV1(net) if uses_inference_kernel(config) else None
        self.model = model if self.folded is None else Model(self.folded, loss_fn=create_loss(config),
                                                             metrics=accuracy_metrics(config.class_num))

    def __call__(self, dataset):
        if self.folded is not None:
            self.folded.fold(self.net)
        return self.model.eval(dataset, dataset_sink_mode=False)


def evaluate(config):
    """Top-5 and top-1 accuracy of ``config.checkpoint_path``, in the official output order."""
    if config.eval_shift >= config.image_size:
        raise UserInputError(f"eval_shift must be less than image_size ({config.image_size}) pixels, "
                             f"got {config.eval_shift}")
    dataset = create_dataset_from_config(config, do_train=False)
    if dataset.get_dataset_size() == 0:
        raise UserInputError(f"no images to evaluate in {dataset_folder(config, do_train=False)}")
    net = create_network(config)
    load_for_inference(net, config.checkpoint_path)
    net = inference_network(net, config)
    form = "BatchNorm folded, C++ inference kernel" if isinstance(net, FoldedMobileNetV1) else "the network's cells"
    views = ""
    if config.eval_flip or config.eval_shift:
        net = ViewAveraged(net, flip=config.eval_flip, shift=config.eval_shift)
        views = f", {net.description()}"
    model = Model(net, loss_fn=create_loss(config), metrics=accuracy_metrics(config.class_num))
    logger.info("evaluating %s on %s (%s%s)", config.checkpoint_path, dataset_folder(config, do_train=False), form,
                views)
    res = model.eval(dataset, dataset_sink_mode=False)
    return {"top_5_accuracy": float(res["top_5_accuracy"]), "top_1_accuracy": float(res["top_1_accuracy"])}
