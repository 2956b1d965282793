"""Momentum (plain or Nesterov) whose whole update is one op: this repository's C++ kernel, for CPU training.

``nn.Momentum`` launches a weight-decay multiply, an add and an ``ApplyMomentum`` per parameter,
about 140 operations per MobileNetV1 training step that each cost the framework more than their
arithmetic. ``src/cpu_kernels/momentum_update.cc`` updates every weight and moment in one op, in
place. ``MomentumCPU`` is an ``nn.Momentum`` (the same Parameters: ``moments.*``, ``global_step``,
``learning_rate``, ``momentum``; the same parameter groups, weight decay, loss scale and LR schedule),
so checkpoints and resumes move freely between the two.
"""
import numpy as np

from mindspore import Tensor, jit, nn, ops

from src.cpu_kernels.build import kernel_library


class MomentumCPU(nn.Momentum):
    """``nn.Momentum`` (``nesterov``: the Nesterov step of NesterovMomentum) in one C++ op (float32, CPU)."""

    def __init__(self, params, learning_rate, momentum, weight_decay=0.0, loss_scale=1.0, nesterov=False):
        super().__init__(params, learning_rate, momentum, weight_decay=weight_decay, loss_scale=loss_scale,
                         use_nesterov=nesterov)
        if self.is_group_lr or self.dynamic_weight_decay:
            raise ValueError("MomentumCPU takes one learning rate for all groups and fixed weight decays")
        library = kernel_library("momentum_update", "optimizer_impl")
        entry = "NesterovMomentumUpdate" if nesterov else "MomentumUpdate"
        self.update = ops.Custom(f"{library}:{entry}", out_shape=lambda *shapes: (1,),
                                 out_dtype=lambda *dtypes: dtypes[0], func_type="aot")
        # it writes its inputs: a call whose result goes unused (TrainStep's accumulation branch) must still run
        self.update.add_prim_attr("side_effect_mem", True)
        self.decay_per_parameter = Tensor(self._decay_per_parameter(), dtype=self.momentum.dtype)
        self.inverse_scale = Tensor([1.0 / self.loss_scale], dtype=self.momentum.dtype).reshape(())

    def _decay_per_parameter(self):
        """The weight decay of each parameter, times the loss scale (as nn.Optimizer applies it); 0 where none."""
        count = len(self._parameters)
        if not self.exec_weight_decay:
            return np.zeros(count, np.float32)
        decays = self.weight_decay if self.is_group else (self.weight_decay,) * count
        return np.array([float(decay) if flag else 0.0 for decay, flag in zip(decays, self.decay_flags)], np.float32)

    @jit(backend="ms_backend")
    def construct(self, gradients):
        lr = self.get_lr()
        self.assignadd(self.global_step, self.global_step_increase_tensor)
        return self.update(lr, self.momentum, self.inverse_scale, self.decay_per_parameter, *self._parameters,
                           *self.moments, *gradients)
