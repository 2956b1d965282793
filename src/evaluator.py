"""Evaluation of a checkpoint on the whole evaluation set."""
import logging

from mindspore import nn, ops
from mindspore.train import Model, Top1CategoricalAccuracy, TopKCategoricalAccuracy

from src.checkpoint import load_for_inference
from src.CrossEntropySmooth import create_loss
from src.dataset import create_dataset_from_config, dataset_folder
from src.mobilenet_v1 import create_network
from src.model_utils.errors import UserInputError

logger = logging.getLogger(__name__)


def accuracy_metrics(class_num):
    """Top-1 and top-5 metrics; with 5 classes or fewer every label is in the top 5 (top-5 = 1.0)."""
    return {"top_1_accuracy": Top1CategoricalAccuracy(), "top_5_accuracy": TopKCategoricalAccuracy(min(5, class_num))}


class FlipAveraged(nn.Cell):
    """Logits averaged over each image and its left-right mirror (test-time augmentation)."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def construct(self, x):
        return (self.network(x) + self.network(ops.flip(x, (3,)))) / 2


def evaluate(config):
    """Top-5 and top-1 accuracy of ``config.checkpoint_path``, in the official output order."""
    dataset = create_dataset_from_config(config, do_train=False)
    if dataset.get_dataset_size() == 0:
        raise UserInputError(f"no images to evaluate in {dataset_folder(config, do_train=False)}")
    net = create_network(config)
    load_for_inference(net, config.checkpoint_path)
    net.set_train(False)
    if config.eval_flip:
        net = FlipAveraged(net)
    model = Model(net, loss_fn=create_loss(config), metrics=accuracy_metrics(config.class_num))
    logger.info("evaluating %s on %s%s", config.checkpoint_path, dataset_folder(config, do_train=False),
                " (logits averaged with the mirrored image)" if config.eval_flip else "")
    res = model.eval(dataset, dataset_sink_mode=False)
    return {"top_5_accuracy": float(res["top_5_accuracy"]), "top_1_accuracy": float(res["top_1_accuracy"])}
