"""The training step of issue 25: gradient accumulation, gradient clipping, Nesterov momentum."""
import os

import numpy as np
import pytest
import mindspore as ms
from mindspore import nn, Tensor

from src.cpu_kernels import KERNELS
from src.lr_generator import get_lr
from src.mobilenet_v1 import create_network
from src.model_utils.config import get_config
from src.model_utils.errors import UserInputError
from src.cpu_kernels.momentum import MomentumCPU
from src.training.optimizer import NesterovMomentum, momentum_optimizer
from src.training.train_step import (TrainStep, build_train_step, lr_per_batch, optimizer_step_of,
                                     optimizer_steps_per_epoch, register_accumulation, uses_train_step)
from src.training.run_state import RunState
from src.training.trainer import build_model
from tests.conftest import TINY_MODEL, run_entry_point


@pytest.fixture(params=["graph", "pynative"])
def mode(request):
    """The in-process tests run in graph mode (as the entry points do) and in PyNative mode."""
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE if request.param == "graph" else ms.PYNATIVE_MODE, device_target="CPU")
    yield request.param
    ms.set_context(mode=previous)


def small_net(seed=0):
    """Conv + Dense, no BatchNorm (so a batch of N*B and N batches of B have the same gradients)."""
    net = nn.SequentialCell(nn.Conv2d(3, 4, 3, has_bias=True), nn.ReLU(), nn.Flatten(), nn.Dense(4 * 6 * 6, 5))
    rng = np.random.default_rng(seed)
    for p in net.get_parameters():
        p.set_data(Tensor((rng.standard_normal(p.shape) * 0.3).astype(np.float32)))
    return net


def batch(n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3, 6, 6)).astype(np.float32), rng.integers(0, 5, n).astype(np.int32)


def loss_fn():
    return nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")


def params_of(net):
    return {p.name: p.asnumpy().copy() for p in net.get_parameters()}


def train_step(net, opt, **kwargs):
    step = TrainStep(nn.WithLossCell(net, loss_fn()), opt, **kwargs)
    return step.set_train()


def momentum(net, lr=0.1, mom=0.9, weight_decay=0.0, nesterov=False):
    return nn.Momentum(net.trainable_params(), lr, mom, weight_decay=weight_decay, use_nesterov=nesterov)


def test_accumulated_steps_train_like_one_large_batch(mode):
    """2 updates of 3 accumulated batches of 4 = 2 steps of batches of 12 on the same images, momentum
    and weight decay included; the batches before the 3rd leave the parameters alone."""
    steps, b = 3, 4
    x, y = batch(2 * steps * b)
    big_net, acc_net = small_net(), small_net()
    big_opt, acc_opt = momentum(big_net, weight_decay=0.01), momentum(acc_net, weight_decay=0.01)
    big, acc = train_step(big_net, big_opt), train_step(acc_net, acc_opt, accumulation_steps=steps)
    for update in range(2):
        images = slice(update * steps * b, (update + 1) * steps * b)
        big(Tensor(x[images]), Tensor(y[images]))
        before = params_of(acc_net)
        for micro in range(steps):
            start = update * steps * b + micro * b
            loss = acc(Tensor(x[start:start + b]), Tensor(y[start:start + b]))
            assert np.isfinite(float(loss.asnumpy()))
            expected_micro = (micro + 1) % steps
            assert int(acc.micro_steps.asnumpy()[0]) == expected_micro
            if micro < steps - 1:
                assert all(np.array_equal(before[k], v) for k, v in params_of(acc_net).items())
                assert int(acc_opt.global_step.asnumpy()[0]) == update
        assert int(acc_opt.global_step.asnumpy()[0]) == update + 1
        assert all(not v.any() for v in (g.asnumpy() for g in acc.accumulated_grads))  # buffers reset
        for name, value in params_of(big_net).items():
            np.testing.assert_allclose(params_of(acc_net)[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
        assert not np.array_equal(params_of(acc_net)["3.weight"], before["3.weight"])


def test_the_first_loss_is_the_batch_loss(mode):
    x, y = batch(4)
    net = small_net()
    expected = float(nn.WithLossCell(small_net(), loss_fn())(Tensor(x), Tensor(y)).asnumpy())
    loss = train_step(net, momentum(net), accumulation_steps=2)(Tensor(x), Tensor(y))
    assert float(loss.asnumpy()) == pytest.approx(expected, rel=1e-6)


def gradient(x, y):
    """The plain gradient, as the update of SGD with lr 1 and no momentum."""
    net = small_net()
    before = params_of(net)
    train_step(net, momentum(net, lr=1.0, mom=0.0))(Tensor(x), Tensor(y))
    return {k: before[k] - v for k, v in params_of(net).items()}


def global_norm(grads):
    return float(np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads.values())))


@pytest.mark.parametrize("sens", [1.0, 8.0])
def test_clipping_bounds_the_global_norm(sens, mode):
    """SGD (lr 0.5, no momentum): the update is lr * g * clip_value / |g| with a small clip_value, also
    with a loss scale (the optimizer divides it out), and lr * g with a huge one."""
    x, y = batch(8)
    grads = gradient(x, y)
    norm = global_norm(grads)
    for clip_value, factor in ((0.1 * norm, 0.1), (1e6, 1.0)):
        net = small_net()
        before = params_of(net)
        opt = nn.Momentum(net.trainable_params(), 0.5, 0.0, loss_scale=sens)
        train_step(net, opt, sens=sens, clip_grad=True, clip_value=clip_value)(Tensor(x), Tensor(y))
        update = {k: before[k] - v for k, v in params_of(net).items()}
        for name, g in grads.items():
            np.testing.assert_allclose(update[name], 0.5 * factor * g, rtol=1e-4, atol=1e-7, err_msg=name)
        assert global_norm(update) / 0.5 == pytest.approx(min(norm, clip_value), rel=1e-4)


def test_clipping_applies_to_the_accumulated_mean(mode):
    """With accumulation the mean gradient of the 2 batches is clipped, not each batch's."""
    x, y = batch(8)
    grads = gradient(x, y)  # the gradient of the mean loss over the 8 images
    norm = global_norm(grads)
    net = small_net()
    before = params_of(net)
    step = train_step(net, momentum(net, lr=1.0, mom=0.0), clip_grad=True, clip_value=0.5 * norm,
                      accumulation_steps=2)
    step(Tensor(x[:4]), Tensor(y[:4]))
    step(Tensor(x[4:]), Tensor(y[4:]))
    for name, g in grads.items():
        np.testing.assert_allclose(before[name] - params_of(net)[name], 0.5 * g, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("fused", [False, True], ids=["ops", "kernel"])
@pytest.mark.parametrize("weight_decay,loss_scale", [(0.0, 1.0), (0.1, 4.0)])
def test_nesterov_follows_its_formula_on_two_steps(weight_decay, loss_scale, fused, mode):
    """v <- m * v + g, w <- w - lr * (g + m * v) (plain momentum: w <- w - lr * v), with g the gradient
    plus weight decay, on a 1-weight linear model with squared error, computed by hand, for MindSpore's
    ops and the one-op C++ update. (MindSpore's CPU ApplyMomentum ignores use_nesterov:
    momentum_optimizer must not rely on it.)"""
    x = np.array([[1.0], [2.0]], np.float32)
    y = np.array([[3.0], [1.0]], np.float32)
    lr, mom, w0 = 0.05, 0.9, 0.5

    def run(nesterov):
        net = nn.Dense(1, 1, weight_init=Tensor([[w0]], ms.float32), has_bias=False)
        groups = [{"params": net.trainable_params(), "weight_decay": weight_decay}]
        opt = momentum_optimizer(groups, lr, mom, loss_scale=loss_scale, nesterov=nesterov, fused=fused)
        assert opt.use_nesterov == nesterov and isinstance(opt, nn.Momentum)
        step = TrainStep(nn.WithLossCell(net, nn.MSELoss()), opt, sens=loss_scale, clip_grad=True,
                         clip_value=1e6).set_train()
        weights = []
        for _ in range(2):
            step(Tensor(x), Tensor(y))
            weights.append(float(net.weight.asnumpy()[0, 0]))
        assert int(opt.global_step.asnumpy()[0]) == 2
        return weights

    def by_hand(nesterov):
        w, v, out = w0, 0.0, []
        for _ in range(2):
            g = float(np.mean(2 * (x[:, 0] * w - y[:, 0]) * x[:, 0])) + weight_decay * w
            v = mom * v + g
            w -= lr * (g + mom * v) if nesterov else lr * v
            out.append(w)
        return out

    assert run(True) == pytest.approx(by_hand(True), rel=1e-5)
    assert run(False) == pytest.approx(by_hand(False), rel=1e-5)
    assert by_hand(True)[1] != pytest.approx(by_hand(False)[1], rel=1e-3)


def test_resume_between_micro_steps_continues_exactly(tmp_path, mode):
    """A checkpoint written after 1 of 2 accumulated batches holds the buffers and the count: a new cell
    restored from it finishes the update exactly as the uninterrupted one."""
    x, y = batch(8)
    config = get_config(["--gradient_accumulation_steps", "2"])
    net = small_net()
    opt = momentum(net)
    step = train_step(net, opt, accumulation_steps=2)
    step(Tensor(x[:4]), Tensor(y[:4]))
    path = str(tmp_path / "mid.ckpt")
    ms.save_checkpoint(step, path)
    saved = ms.load_checkpoint(path)
    assert {"accumulated_grads.0.weight", "accumulated_grads.3.bias", "accumulated_micro_steps",
            "gradient_accumulation_steps", "global_step", "moments.0.weight"} <= set(saved)
    step(Tensor(x[4:]), Tensor(y[4:]))

    resumed_net = small_net(seed=5)
    resumed_opt = momentum(resumed_net)
    resumed = train_step(resumed_net, resumed_opt, accumulation_steps=2)
    run_state = RunState(resumed_net, resumed_opt)
    register_accumulation(run_state, resumed, config)
    assert run_state.resume(path) == 1
    resumed(Tensor(x[4:]), Tensor(y[4:]))
    assert int(resumed_opt.global_step.asnumpy()[0]) == 1
    for name, value in params_of(net).items():
        np.testing.assert_allclose(params_of(resumed_net)[name], value, rtol=1e-6, atol=1e-7, err_msg=name)

    once = RunState(resumed_net, resumed_opt)
    register_accumulation(once, resumed, get_config([]))
    with pytest.raises(UserInputError, match="gradient_accumulation_steps 2, the config says 1"):
        once.resume(path)


def test_optimizer_steps_per_epoch(mode):
    assert optimizer_steps_per_epoch(6, get_config([])) == 6
    config = get_config(["--gradient_accumulation_steps", "2"])
    assert optimizer_steps_per_epoch(6, config) == 3
    assert optimizer_step_of(7, config) == 3
    assert list(lr_per_batch(np.array([0.1, 0.2], np.float32), config)) == pytest.approx([0.1, 0.1, 0.2, 0.2])
    with pytest.raises(UserInputError) as err:
        optimizer_steps_per_epoch(6, get_config(["--gradient_accumulation_steps", "4"]))
    assert "gradient_accumulation_steps 4" in str(err.value) and "6 steps" in str(err.value)
    assert "\n" not in str(err.value)


def tiny_config(*flags):
    return get_config([*TINY_MODEL, *flags])


def tiny_model(config, steps=2):
    net = create_network(config)
    lr = get_lr(config.lr_init, config.lr_end, config.lr_max, config.warmup_epochs, config.epoch_size, steps,
                config.lr_decay_mode)
    return net, build_model(config, net, lr)


def test_defaults_build_todays_model(mode):
    config = tiny_config()
    assert not uses_train_step(config)
    _, (model, opt, amp_level) = tiny_model(config)
    assert type(model.train_network) is nn.TrainOneStepCell  # pylint: disable=unidiomatic-typecheck
    assert type(opt) is MomentumCPU  # pylint: disable=unidiomatic-typecheck
    assert not opt.use_nesterov and amp_level == "O0"
    _, (_, opt, _) = tiny_model(tiny_config("--optimizer_impl", "mindspore"))
    assert type(opt) is nn.Momentum  # pylint: disable=unidiomatic-typecheck
    assert not any("accumulated" in p.name for p in model.train_network.get_parameters())


def test_nesterov_alone_keeps_the_standard_train_network(mode):
    """Nesterov reaches the optimizer (with the weight-decay groups) and trains the MobileNet in a step."""
    _, (model, opt, _) = tiny_model(tiny_config("--nesterov", "True", "--batch_size", "2"))
    assert isinstance(opt, MomentumCPU) and opt.use_nesterov
    _, (_, ops_opt, _) = tiny_model(tiny_config("--nesterov", "True", "--optimizer_impl", "mindspore"))
    assert isinstance(ops_opt, NesterovMomentum)
    assert type(model.train_network) is nn.TrainOneStepCell  # pylint: disable=unidiomatic-typecheck
    if mode == "graph":
        rng = np.random.default_rng(0)
        loss = model.train_network(Tensor(rng.standard_normal((2, 3, 32, 32)).astype(np.float32)),
                                   Tensor(np.array([1, 2], np.int32)))
        assert np.isfinite(float(loss.asnumpy())) and int(opt.global_step.asnumpy()[0]) == 1
        assert np.abs(opt.moments[0].asnumpy()).max() > 0


def test_accumulation_builds_a_train_step_that_trains_and_evaluates(mode):
    """build_model with accumulation and clipping: the TrainStep over the MobileNet with the C++ kernels,
    2 batches make one update, and model.eval gives the accuracy metrics."""
    config = tiny_config("--gradient_accumulation_steps", "2", "--clip_grad", "True", "--batch_size", "4")
    net, (model, opt, _) = tiny_model(config)
    cell = model.train_network
    assert isinstance(cell, TrainStep) and cell.clip_grad and cell.accumulation_steps == 2
    assert net.layers.kernels == set(KERNELS)
    names = {p.name for p in cell.get_parameters()}
    assert {"accumulated_grads.fc.weight", "accumulated_micro_steps", "moments.fc.weight"} <= names
    if mode == "pynative":
        return  # the C++ custom ops run in graph mode (the entry points' mode)
    rng = np.random.default_rng(0)
    images = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, 4).astype(np.int32)
    before = net.fc.weight.asnumpy().copy()
    cell(Tensor(images), Tensor(labels))
    assert np.array_equal(net.fc.weight.asnumpy(), before)
    cell(Tensor(images), Tensor(labels))
    assert int(opt.global_step.asnumpy()[0]) == 1 and not np.array_equal(net.fc.weight.asnumpy(), before)
    data = ms.dataset.NumpySlicesDataset({"image": images, "label": labels}, shuffle=False).batch(4)
    result = model.eval(data, dataset_sink_mode=False)
    assert set(result) == {"top_1_accuracy", "top_5_accuracy"} and 0.0 <= result["top_1_accuracy"] <= 1.0


def test_mixed_precision_train_step_matches_model(graph_mode):
    """amp O2 with a loss scale: TrainStep (clip off in effect) updates as Model's own train network."""
    x, y = batch(4)
    results = []
    for custom in (False, True):
        net = small_net()
        opt = nn.Momentum(net.trainable_params(), 0.1, 0.9, loss_scale=64.0)
        manager = ms.FixedLossScaleManager(64.0, drop_overflow_update=False)
        if custom:
            config = get_config(["--clip_grad", "True", "--clip_value", "1e6"])
            cell = build_train_step(net, loss_fn(), opt, config, "O2", loss_scale_manager=manager)
            assert cell.sens == 64.0
        else:
            cell = ms.train.Model(net, loss_fn(), opt, amp_level="O2", loss_scale_manager=manager).train_network
        cell(Tensor(x), Tensor(y))
        results.append(params_of(net))
    for name, value in results[0].items():
        np.testing.assert_allclose(results[1][name], value, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.fixture(scope="module")
def accumulated_run(tmp_path_factory, cifar_dirs):
    """train.py, 96 images in batches of 16 (6 steps), 2 batches per update, clipping, validation."""
    out = tmp_path_factory.mktemp("accumulated")
    proc = run_entry_point("train.py", "--dataset_path", cifar_dirs[0], *TINY_MODEL, "--epoch_size", "1",
                           "--num_samples", "96", "--batch_size", "16", "--gradient_accumulation_steps", "2",
                           "--clip_grad", "True", "--eval_interval", "1", "--eval_dataset_path", cifar_dirs[1],
                           "--save_checkpoint_path", out, cwd=out)
    return out, proc


def test_train_py_with_accumulation_and_clipping(accumulated_run):
    out, proc = accumulated_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "depthwise cpp, batchnorm cpp, pointwise cpp" in proc.stdout + proc.stderr
    assert "validation: top-1" in proc.stdout + proc.stderr
    params = ms.load_checkpoint(os.path.join(out, "mobilenetv1-1_6.ckpt"))
    assert int(params["global_step"].asnumpy()[0]) == 3  # 6 batches / 2
    assert int(params["accumulated_micro_steps"].asnumpy()[0]) == 0
    assert "accumulated_grads.fc.weight" in params


def test_train_py_lr_schedule_counts_optimizer_steps(accumulated_run):
    """The LR array the optimizer holds has one entry per optimizer step (3), not per batch (6)."""
    out, proc = accumulated_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    params = ms.load_checkpoint(os.path.join(out, "mobilenetv1-1_6.ckpt"))
    assert params["learning_rate"].shape == (3,)
