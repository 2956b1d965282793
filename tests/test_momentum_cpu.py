"""The one-op optimizer step (src/cpu_kernels/momentum.py) against nn.Momentum / NesterovMomentum.

Training a network several steps is chaotic at this size (a 1e-5 change of one step's learning rate
moves the third step's moments by 3 %), so the update is compared on the same gradients, step by step,
and through the network on one step."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn

from src.CrossEntropySmooth import CrossEntropySmooth
from src.cpu_kernels import KERNELS
from src.cpu_kernels.momentum import MomentumCPU
from src.mobilenet_v1 import MobileNetV1
from src.training.optimizer import NesterovMomentum, optimizer_groups

LRS = [0.05, 0.2, 0.1]


def network():
    ms.set_seed(3)
    return MobileNetV1(class_num=10, width_multiplier=0.25, stem_stride=1, kernels=tuple(KERNELS))


def optimizer(net, fused, nesterov, loss_scale, weight_decay=5e-4):
    groups = optimizer_groups(net, weight_decay, True)
    lr = Tensor(np.array(LRS, np.float32))
    if fused:
        return MomentumCPU(groups, lr, 0.9, loss_scale=loss_scale, nesterov=nesterov)
    if nesterov:
        return NesterovMomentum(groups, lr, 0.9, loss_scale=loss_scale)
    return nn.Momentum(groups, lr, 0.9, loss_scale=loss_scale)


def state(opt):
    """Every parameter, moment and the step count of ``opt``, as numpy copies."""
    return ({p.name: p.asnumpy().copy() for p in opt.parameters}
            | {p.name: p.asnumpy().copy() for p in opt.moments} | {"global_step": opt.global_step.asnumpy().copy()})


def assert_same_state(fused, expected, rtol):
    assert fused.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_allclose(fused[name], value, rtol=rtol, atol=rtol, err_msg=name)


@pytest.mark.parametrize("nesterov,loss_scale", [(False, 1.0), (True, 1.0), (False, 8.0), (True, 8.0)])
def test_update_matches_mindspore_on_the_same_gradients(nesterov, loss_scale, graph_mode):
    """Three updates of every parameter of a MobileNetV1 with the same gradients (three learning rates, weight
    decay on the convolution and dense weights only, a loss scale): weights and moments within 1e-6 of
    MindSpore's optimizer, global_step 3, and every weight moved (a kernel that skipped one would fail)."""
    rng = np.random.default_rng(0)
    shapes = [p.shape for p in network().trainable_params()]
    gradients = [[Tensor(rng.standard_normal(shape, np.float32) * loss_scale) for shape in shapes] for _ in LRS]
    results = []
    for fused in (False, True):
        net = network()
        start = {p.name: p.asnumpy().copy() for p in net.trainable_params()}
        opt = optimizer(net, fused, nesterov, loss_scale)
        for step_gradients in gradients:
            opt(tuple(step_gradients))
        results.append(state(opt))
    expected, fused = results
    assert_same_state(fused, expected, 1e-6)
    assert int(fused["global_step"][0]) == len(LRS)
    for name, value in start.items():
        assert np.abs(fused[name] - value).min() > 0, f"{name} was not updated everywhere"


@pytest.mark.parametrize("nesterov", [False, True])
def test_training_step_matches_mindspore_through_the_network(nesterov, graph_mode):
    """One training step of the whole network (forward, backward and update with the C++ kernels): the same
    weights and moments as with MindSpore's optimizer within 1e-5."""
    results = []
    rng = np.random.default_rng(1)
    x, y = Tensor(rng.standard_normal((8, 3, 32, 32), np.float32)), Tensor(rng.integers(0, 10, 8, np.int32))
    for fused in (False, True):
        net = network()
        loss = CrossEntropySmooth(sparse=True, reduction="mean", smooth_factor=0.1, num_classes=10)
        opt = optimizer(net, fused, nesterov, 1.0)
        nn.TrainOneStepCell(nn.WithLossCell(net, loss), opt).set_train()(x, y)
        results.append(state(opt))
    assert_same_state(results[1], results[0], 1e-5)


def test_weight_decay_follows_the_groups(graph_mode):
    """Decay only where nn.Momentum applies it, times the loss scale as nn.Optimizer applies it."""
    net = MobileNetV1(class_num=10, width_multiplier=0.25)
    opt = MomentumCPU(optimizer_groups(net, 1e-3, True), 0.1, 0.9, loss_scale=4.0)
    decays = opt.decay_per_parameter.asnumpy()
    names = [p.name for p in opt.parameters]
    assert len(decays) == len(names)
    for name, decay in zip(names, decays):
        expected = 0.0 if any(key in name for key in ("gamma", "beta", "bias")) else 4e-3
        assert decay == pytest.approx(expected), name
    assert not MomentumCPU(net.trainable_params(), 0.1, 0.9).decay_per_parameter.asnumpy().any()
