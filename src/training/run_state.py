"""A training checkpoint: its file names, what it holds, and how a run is restored from it.

MindSpore saves the training cell: the network, the optimizer's moments and ``global_step``, and with gradient
accumulation the buffers and the count of batches since the last update (src/training/train_step.py). The parts
of a run outside that cell register here what they add to every checkpoint and how they take it back: the
settings (src/model_settings.py), the EMA averages (src/training/ema.py), the accumulation position. The
checkpoint saver adds ``epoch_num`` and ``step_num``. ``RunState.resume`` restores all of it and says at which
batch the run goes on.
"""
import os
import re

import mindspore as ms

from src.checkpoint import CheckpointError, load_network_weights, read_checkpoint

PREFIX = "mobilenetv1"


def epoch_checkpoint_name(epoch, step, prefix=PREFIX):
    """``{prefix}-{epoch}_{step}.ckpt``: written after an epoch, or at the step where a run was stopped."""
    return f"{prefix}-{epoch}_{step}.ckpt"


def best_checkpoint_name(prefix=PREFIX):
    """The checkpoint of the best validation so far; not an epoch checkpoint, never pruned."""
    return f"{prefix}-best.ckpt"


def list_epoch_checkpoints(directory, prefix=PREFIX):
    """[((epoch, step), path)] of the epoch checkpoints in ``directory``, oldest first."""
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)_(\d+)\.ckpt$")
    found = []
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        match = pattern.match(name)
        if match:
            found.append(((int(match.group(1)), int(match.group(2))), os.path.join(directory, name)))
    return sorted(found)


class RunState:
    """What a training checkpoint holds beyond the training cell, registered by the parts of a run.

    ``register(entries, restore, position)``: ``entries()`` returns {name: value} for every checkpoint's
    ``append_dict``; ``restore(param_dict, path)`` puts them back on resume; ``position(optimizer_step)`` turns
    the optimizer's step count into the batches done (gradient accumulation).
    """

    def __init__(self, net, optimizer):
        self.net, self.optimizer = net, optimizer
        self._entries, self._restores, self._positions = [], [], []

    def register(self, entries=None, restore=None, position=None):
        for hooks, hook in ((self._entries, entries), (self._restores, restore), (self._positions, position)):
            if hook is not None:
                hooks.append(hook)

    def entries(self):
        return {name: value for entries in self._entries for name, value in entries().items()}

    def resume(self, path):
        """Restore network, optimizer and every registered part from the training checkpoint ``path``; return the
        number of batches the run had done.

        The learning-rate array is not restored: it is rebuilt from the config, and ``global_step`` puts the
        schedule at the right position.
        """
        param_dict = read_checkpoint(path)
        if "global_step" not in param_dict:
            raise CheckpointError(f"checkpoint {path} holds no optimizer state (global_step): it cannot resume "
                                  "training; use --pre_trained to start from its weights instead")
        load_network_weights(self.net, path, param_dict)
        opt_names = {p.name for p in self.optimizer.get_parameters()} - {"learning_rate"}
        missing = sorted(name for name in opt_names if name not in param_dict)
        if missing:
            raise CheckpointError(f"checkpoint {path} lacks optimizer state {missing[:3]} (was it written with "
                                  "another optimizer or amp level?)")
        ms.load_param_into_net(self.optimizer, {name: param_dict[name] for name in opt_names})
        for restore in self._restores:
            restore(param_dict, path)
        step = int(param_dict["global_step"].asnumpy().reshape(-1)[0])
        for position in self._positions:
            step = position(step)
        return step
