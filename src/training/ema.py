"""Exponential moving average (EMA) of the network's weights: the copy that validation and deployment use.

The average covers every network parameter, BatchNorm's moving statistics included (as timm's
ModelEma does), so an EMA network is complete on its own. Its parameters are named
``ema.<parameter>`` and travel in the training checkpoints next to the raw weights;
``src.checkpoint`` gives the EMA weights to everything that only runs the network.
"""
import logging

import numpy as np
import mindspore as ms
from mindspore import nn, ops, ParameterTuple, Tensor
from mindspore.train import Callback

from src.checkpoint import EMA_PREFIX

logger = logging.getLogger(__name__)

_update = ops.MultitypeFuncGraph("ema_update")


@_update.register("Tensor", "Tensor", "Tensor")
def _update_one(decay, average, weight):
    return ops.assign(average, average * decay + weight * (1.0 - decay))


class WeightEMA(nn.Cell):
    """``average = d * average + (1 - d) * weight`` after each optimizer step, with the decay warmed up.

    At update ``t`` (1, 2, ...) the decay is ``min(decay, (1 + t) / (10 + t))``: early averages
    follow the weights closely, so a short run is not held back by its random initial weights.
    """

    def __init__(self, net, decay):
        super().__init__(auto_prefix=False)
        self.weights = ParameterTuple(net.get_parameters())
        self.averages = self.weights.clone(prefix=EMA_PREFIX.rstrip("."), init="same")
        self.decay = float(decay)
        self.hyper_map = ops.HyperMap()

    def decay_at(self, t):
        return min(self.decay, (1.0 + t) / (10.0 + t))

    def construct(self, decay):
        return self.hyper_map(ops.partial(_update, decay), self.averages, self.weights)

    def update(self, t):
        """The ``t``-th update (1-based)."""
        self(Tensor(self.decay_at(t), ms.float32))

    def state(self):
        """The averages by checkpoint name, for every checkpoint (registered with RunState)."""
        return {p.name: p for p in self.averages}

    def load_state(self, param_dict, path):
        """Restore the averages of a resumed run; a checkpoint without them starts them at its weights."""
        names = [p.name for p in self.averages]
        if not all(name in param_dict for name in names):
            logger.warning("%s holds no EMA weights: the average starts from its weights", path)
            for average, weight in zip(self.averages, self.weights):
                average.set_data(Tensor(weight.asnumpy()))
            return
        for average in self.averages:  # set_data: load_param_into_net may match "ema.<name>" to "<name>"
            average.set_data(Tensor(param_dict[average.name].asnumpy(), average.dtype))

    def swap(self):
        """Exchange weights and averages (twice restores both): validation runs the network on the average."""
        for average, weight in zip(self.averages, self.weights):
            kept = np.copy(weight.asnumpy())
            weight.set_data(Tensor(average.asnumpy()))
            average.set_data(Tensor(kept))


class EMAUpdater(Callback):
    """Updates the average after every optimizer step (every ``accumulation`` batches)."""

    def __init__(self, record, ema, accumulation=1):
        super().__init__()
        self.record = record
        self.ema = ema
        self.accumulation = accumulation

    def on_train_step_end(self, run_context):
        batches = self.record.global_step(run_context.original_args())
        if batches % self.accumulation == 0 and not self.record.diverged_at:
            self.ema.update(batches // self.accumulation)
