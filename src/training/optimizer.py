"""The optimizer of a run: Momentum (or Nesterov momentum) over parameter groups with and without weight decay."""
from mindspore import jit, nn
from mindspore.ops import composite as C
from mindspore.ops import functional as F

from src.cpu_kernels.build import resolve_implementation
from src.cpu_kernels.momentum import MomentumCPU

NO_DECAY_KEYS = ("beta", "gamma", "bias")


def optimizer_groups(net, weight_decay, no_decay_bn_bias):
    """Parameter groups for Momentum; BN gamma/beta and biases get no weight decay when asked."""
    params = net.trainable_params()
    if not no_decay_bn_bias:
        return [{"params": params, "weight_decay": weight_decay}]
    no_decay = [p for p in params if any(key in p.name for key in NO_DECAY_KEYS)]
    decay = [p for p in params if not any(key in p.name for key in NO_DECAY_KEYS)]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0},
            {"order_params": params}]


_nesterov = C.MultitypeFuncGraph("nesterov")


@_nesterov.register("Tensor", "Tensor", "Tensor", "Tensor", "Tensor")
def _nesterov_update(momentum, learning_rate, gradient, weight, moment):
    """v <- momentum * v + g;  w <- w - lr * (g + momentum * v)  (what ApplyMomentum(use_nesterov=True) documents)."""
    moment = F.assign(moment, moment * momentum + gradient)
    return F.depend(True, F.assign_sub(weight, learning_rate * (gradient + momentum * moment)))


class NesterovMomentum(nn.Momentum):
    """``nn.Momentum(use_nesterov=True)`` whose update is written out in tensor operations.

    MindSpore 2.10's CPU kernel of ApplyMomentum ignores ``use_nesterov`` (it applies plain momentum), so
    the Nesterov step is computed here on every device. Same Parameters (``moments.*``, ``global_step``,
    ``learning_rate``, ``momentum``), weight decay, loss scale and LR schedule as ``nn.Momentum``.
    """

    def __init__(self, params, learning_rate, momentum, weight_decay=0.0, loss_scale=1.0):
        super().__init__(params, learning_rate, momentum, weight_decay=weight_decay, loss_scale=loss_scale,
                         use_nesterov=True)

    @jit(backend="ms_backend")
    def construct(self, gradients):
        gradients = self.decay_weight(gradients)
        gradients = self.gradients_centralization(gradients)
        gradients = self.scale_grad(gradients)
        lr = self.get_lr()
        self.assignadd(self.global_step, self.global_step_increase_tensor)
        if self.is_group_lr:
            return self.hyper_map_reverse(F.partial(_nesterov, self.momentum), lr, gradients, self.params,
                                          self.moments)
        return self.hyper_map_reverse(F.partial(_nesterov, self.momentum, lr), gradients, self.params, self.moments)


def momentum_optimizer(params, learning_rate, momentum, weight_decay=0.0, loss_scale=1.0, nesterov=False,
                       fused=False):
    """``nn.Momentum`` (exactly as without Nesterov), or ``NesterovMomentum`` with ``nesterov``; with ``fused``
    the same update in one C++ op (``MomentumCPU``, src/cpu_kernels/momentum.py)."""
    if fused:
        return MomentumCPU(params, learning_rate, momentum, weight_decay=weight_decay, loss_scale=loss_scale,
                           nesterov=nesterov)
    if nesterov:
        return NesterovMomentum(params, learning_rate, momentum, weight_decay=weight_decay, loss_scale=loss_scale)
    return nn.Momentum(params, learning_rate, momentum, weight_decay=weight_decay, loss_scale=loss_scale)


def create_optimizer(net, config, learning_rate, loss_scale=1.0, amp_level="O0"):
    """The config's optimizer for ``net``: momentum, weight decay (not on BN and biases with no_decay_bn_bias),
    Nesterov, over the per-step ``learning_rate``; one C++ op per step where ``optimizer_impl`` resolves to cpp."""
    fused = resolve_implementation(config.optimizer_impl, config.device_target, amp_level, "optimizer_impl") == "cpp"
    return momentum_optimizer(optimizer_groups(net, config.weight_decay, config.no_decay_bn_bias), learning_rate,
                              config.momentum, loss_scale=loss_scale, nesterov=bool(config.nesterov), fused=fused)
