"""Training step with gradient clipping and gradient accumulation (``clip_grad``, ``gradient_accumulation_steps``).

``TrainStep`` is an ``nn.TrainOneStepCell`` (so data parallelism all-reduces the gradients through
its ``grad_reducer``) whose step can

* clip the gradients to a global norm of ``clip_value`` (``ops.clip_by_global_norm``) right before
  the optimizer update, after the all-reduce, so every rank clips the same gradients;
* accumulate the gradients of N consecutive batches of B images and update once with their mean:
  the loss is a mean over each batch, so the mean of the N gradients is the gradient of the mean
  loss over the N*B images, and N batches train like one of N*B. The optimizer (its update, its
  ``global_step``, hence the LR schedule) advances once per N batches; the other N-1 batches only
  add their gradients to the buffers.

The buffers (``accumulated_grads.<parameter name>``, the sum of the gradients of the batches since
the last update), the count of those batches (``accumulated_micro_steps``) and N
(``gradient_accumulation_steps``) are Parameters of the cell, so a checkpoint of the training
network holds them and a run interrupted between two updates resumes exactly
(``register_accumulation``, src/training/run_state.py). The LR schedule counts optimizer steps:
``optimizer_steps_per_epoch``.
"""
import numpy as np

import mindspore as ms
from mindspore import nn, ops, Parameter, Tensor
from mindspore.ops import composite as C
from mindspore.ops import functional as F

from src.model_utils.errors import UserInputError

ACCUMULATED_PREFIX = "accumulated_grads"
MICRO_STEPS_NAME = "accumulated_micro_steps"
ACCUMULATION_STEPS_NAME = "gradient_accumulation_steps"

_accumulate = C.MultitypeFuncGraph("accumulate")
_scale = C.MultitypeFuncGraph("scale")
_zero = C.MultitypeFuncGraph("zero")


@_accumulate.register("Tensor", "Tensor")
def _accumulate_tensor(buffer, grad):
    return F.assign_add(buffer, F.cast(grad, F.dtype(buffer)))


@_scale.register("Number", "Tensor")
def _scale_tensor(factor, value):
    return value * F.cast(factor, F.dtype(value))


@_zero.register("Tensor")
def _zero_tensor(buffer):
    return F.assign(buffer, F.zeros_like(buffer))


def accumulation_steps(config):
    """``gradient_accumulation_steps`` of the config (1 when absent; the loader checked it is >= 1)."""
    return getattr(config, "gradient_accumulation_steps", 1)


def uses_train_step(config):
    """True when the config needs ``TrainStep``: clipping or accumulation (Nesterov alone does not)."""
    return bool(getattr(config, "clip_grad", False)) or accumulation_steps(config) > 1


def optimizer_steps_per_epoch(steps, config):
    """Optimizer steps (LR-schedule entries) in an epoch of ``steps`` batches: steps / gradient_accumulation_steps."""
    per_update = accumulation_steps(config)
    if steps % per_update:
        raise UserInputError(f"gradient_accumulation_steps {per_update} does not divide the {steps} steps (batches) "
                             f"per epoch: choose a divisor of {steps}, or change batch_size / the data size")
    return steps // per_update


def optimizer_step_of(batch_step, config):
    """The optimizer's ``global_step`` after ``batch_step`` batches (for e.g. ``pretrain_epoch_size``)."""
    return batch_step // accumulation_steps(config)


def lr_per_batch(lr, config):
    """The LR of every batch, from an LR array counted in optimizer steps (for logging per batch)."""
    return np.repeat(np.asarray(lr), accumulation_steps(config))


class TrainStep(nn.TrainOneStepCell):
    """One training step on a batch: loss and gradients, then (every ``accumulation_steps`` batches) the update.

    Args:
        network: the network with its loss (``nn.WithLossCell``), as for ``nn.TrainOneStepCell``.
        optimizer: the optimizer; with ``sens`` (a fixed loss scale) it must divide the gradients by it
            (``loss_scale=sens``), as ``mindspore.amp.build_train_network`` sets it up.
        sens: the fixed loss scale the gradients carry (1.0 without mixed precision).
        clip_grad, clip_value: clip the (mean, all-reduced, unscaled) gradients to this global norm.
        accumulation_steps: batches whose gradients are averaged into one update.

    Returns the loss of the batch.
    """

    def __init__(self, network, optimizer, sens=None, clip_grad=False, clip_value=15.0, accumulation_steps=1):
        super().__init__(network, optimizer, sens)
        self.clip_grad = bool(clip_grad)
        # the gradients carry the loss scale (the optimizer removes it): clip(s*g, s*c) = s*clip(g, c)
        self.clip_norm = float(clip_value) * float(self.sens)
        self.accumulation_steps = accumulation_steps
        self.mean_factor = 1.0 / accumulation_steps
        self.accumulate = accumulation_steps > 1
        self.hyper_map = C.HyperMap()
        if self.accumulate:
            self.accumulated_grads = self.weights.clone(prefix=ACCUMULATED_PREFIX, init="zeros")
            self.micro_steps = Parameter(Tensor([0], ms.int32), name=MICRO_STEPS_NAME, requires_grad=False)
            self.accumulation_steps_param = Parameter(Tensor([accumulation_steps], ms.int32),
                                                      name=ACCUMULATION_STEPS_NAME, requires_grad=False)
            self.last_micro_step = Tensor([accumulation_steps - 1], ms.int32)
            self.one = Tensor([1], ms.int32)

    def _update(self, grads):
        """All-reduce (data parallel), clip, and apply one optimizer step."""
        grads = self.grad_reducer(grads)
        if self.clip_grad:
            grads = ops.clip_by_global_norm(grads, self.clip_norm)
        return self.optimizer(grads)

    def construct(self, *inputs):
        loss = self.network(*inputs)
        sens = F.fill(loss.dtype, loss.shape, self.sens)
        grads = self.grad(self.network, self.weights)(*inputs, sens)
        if not self.accumulate:
            return F.depend(loss, self._update(grads))
        self.hyper_map(_accumulate, self.accumulated_grads, grads)
        if self.micro_steps >= self.last_micro_step:
            self._update(self.hyper_map(F.partial(_scale, self.mean_factor), self.accumulated_grads))
            self.hyper_map(_zero, self.accumulated_grads)
            F.assign(self.micro_steps, F.zeros_like(self.micro_steps))
        else:
            F.assign_add(self.micro_steps, self.one)
        return loss


def build_train_step(net, loss_fn, optimizer, config, amp_level="O0", **amp_kwargs):
    """``TrainStep`` for ``net`` with ``loss_fn``, mixed precision set up as ``Model`` does it.

    ``amp_kwargs`` are those ``Model`` takes (``loss_scale_manager``, ``keep_batchnorm_fp32``); only a
    fixed loss scale without overflow detection is supported (the one this project uses).
    """
    base = ms.amp.build_train_network(net, optimizer, loss_fn, level=amp_level, **amp_kwargs)
    if type(base) is not nn.TrainOneStepCell:  # pylint: disable=unidiomatic-typecheck
        raise UserInputError("clip_grad / gradient_accumulation_steps need a fixed loss scale "
                             f"(FixedLossScaleManager without overflow detection), got {type(base).__name__}")
    step = TrainStep(base.network, base.optimizer, base.sens, clip_grad=getattr(config, "clip_grad", False),
                     clip_value=getattr(config, "clip_value", 15.0), accumulation_steps=accumulation_steps(config))
    return step.set_train()


def _saved_accumulation_steps(param_dict):
    if ACCUMULATION_STEPS_NAME not in param_dict:
        return 1
    return int(param_dict[ACCUMULATION_STEPS_NAME].asnumpy().reshape(-1)[0])


def restore_accumulation(param_dict, path, train_cell, config):
    """Restore the accumulation buffers of a checkpoint into ``train_cell`` (registered with RunState when
    accumulating); a checkpoint written with another ``gradient_accumulation_steps`` is an error, since its
    steps count other units."""
    where = f"checkpoint {path}"
    per_update = accumulation_steps(config)
    saved = _saved_accumulation_steps(param_dict)
    if saved != per_update:
        raise UserInputError(f"{where} was written with gradient_accumulation_steps {saved}, the config says "
                             f"{per_update}: resume with --gradient_accumulation_steps {saved}")
    if per_update == 1:
        return
    state = list(train_cell.accumulated_grads) + [train_cell.micro_steps]
    missing = [p.name for p in state if p.name not in param_dict]
    if missing:
        raise UserInputError(f"{where} lacks the gradient accumulation state {missing[:3]}")
    for param in state:
        # set_data, not load_param_into_net: that one loads "accumulated_grads.<name>" into the
        # network's "<name>" when the network's own entries are absent from the dict
        saved = param_dict[param.name]
        if tuple(saved.shape) != tuple(param.shape):
            raise UserInputError(f"{where} does not fit the network: {param.name} has shape {tuple(saved.shape)}, "
                                 f"the network {tuple(param.shape)}")
        param.set_data(Tensor(saved.asnumpy(), param.dtype))


def batches_done(train_cell, config, optimizer_step):
    """Batches a run has done after ``optimizer_step`` updates: N per update, plus those accumulated since."""
    per_update = accumulation_steps(config)
    if per_update == 1:
        return optimizer_step
    return optimizer_step * per_update + int(train_cell.micro_steps.asnumpy().reshape(-1)[0])


def register_accumulation(run_state, train_cell, config):
    """Let a run's checkpoints restore the accumulation state and position of ``train_cell``."""
    run_state.register(restore=lambda param_dict, path: restore_accumulation(param_dict, path, train_cell, config),
                       position=lambda optimizer_step: batches_done(train_cell, config, optimizer_step))
