"""EMA of the weights: the update against a hand computation, who uses the average, exact resume; top-k checkpoints."""
import json
import os
import re
from types import SimpleNamespace

import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn

from src.training.callbacks import CheckpointSaver, TrainingRecord
from src.checkpoint import load_for_inference
from src.training.run_state import RunState, list_epoch_checkpoints
from src.training.ema import WeightEMA
from tests.conftest import run_entry_point
from tests.test_training_lifecycle import TINY, step_losses


def test_update_follows_the_warmed_up_decay():
    net = nn.Dense(3, 2)
    ema = WeightEMA(net, decay=0.9)
    rng = np.random.default_rng(0)
    expected = {p.name: p.asnumpy().astype(np.float64) for p in net.get_parameters()}
    for t in range(1, 8):
        for p in net.get_parameters():
            p.set_data(Tensor(rng.standard_normal(p.shape).astype(np.float32)))
        decay = min(0.9, (1 + t) / (10 + t))  # 0.18, 0.25, ... then capped at 0.9 from t = 81: not reached
        assert ema.decay_at(t) == pytest.approx(decay)
        ema.update(t)
        for p in net.get_parameters():
            expected[p.name] = decay * expected[p.name] + (1 - decay) * p.asnumpy()
    for average in ema.averages:
        np.testing.assert_allclose(average.asnumpy(), expected[average.name[len("ema."):]], rtol=1e-5, atol=1e-6)
    assert WeightEMA(net, 0.999).decay_at(10_000) == 0.999


def test_swap_twice_restores_weights_and_averages():
    net = nn.Dense(3, 2)
    ema = WeightEMA(net, decay=0.5)
    net.weight.set_data(Tensor(np.ones((2, 3), np.float32)))
    before = net.weight.asnumpy().copy(), ema.averages[0].asnumpy().copy()
    ema.swap()
    np.testing.assert_array_equal(net.weight.asnumpy(), before[1])
    ema.swap()
    np.testing.assert_array_equal(net.weight.asnumpy(), before[0])
    np.testing.assert_array_equal(ema.averages[0].asnumpy(), before[1])


def test_inference_loads_the_average_and_resume_the_raw_weights(tmp_path):
    net = nn.Dense(3, 2)
    ema = WeightEMA(net, decay=0.5)
    for average in ema.averages:
        average.set_data(Tensor(np.full(average.shape, 7.0, np.float32)))
    opt = nn.Momentum(net.trainable_params(), 0.1, 0.9)
    path = str(tmp_path / "run.ckpt")
    ms.save_checkpoint(nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), opt), path, append_dict=ema.state())
    raw = net.weight.asnumpy().copy()

    served = nn.Dense(3, 2)
    load_for_inference(served, path)
    assert np.all(served.weight.asnumpy() == 7.0) and np.all(served.bias.asnumpy() == 7.0)

    resumed = nn.Dense(3, 2)
    resumed_ema = WeightEMA(resumed, decay=0.5)
    run_state = RunState(resumed, nn.Momentum(resumed.trainable_params(), 0.1, 0.9))
    run_state.register(entries=resumed_ema.state, restore=resumed_ema.load_state)
    run_state.resume(path)
    np.testing.assert_array_equal(resumed.weight.asnumpy(), raw)
    assert np.all(resumed_ema.averages[0].asnumpy() == 7.0)


def test_top_k_keeps_the_best_validated_epochs_and_the_newest(tmp_path):
    record = TrainingRecord(steps_per_epoch=2, total_epochs=6)
    saver = CheckpointSaver(record, str(tmp_path), save_every=1, keep_max=3, policy="top_k")
    params = SimpleNamespace(train_network=nn.Dense(3, 2))
    scores = {1: 0.50, 2: 0.80, 3: 0.60, 4: 0.70, 5: 0.55, 6: 0.40}
    for epoch, score in scores.items():
        record.val_top1[epoch] = score
        params.cur_epoch_num, params.cur_step_num = epoch, 2 * epoch
        saver.on_train_epoch_end(SimpleNamespace(original_args=lambda: params))
    # the newest (6) for resume, and the two best of the others (2: 0.80, 4: 0.70)
    assert [key[0] for key, _ in list_epoch_checkpoints(str(tmp_path))] == [2, 4, 6]


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory, cifar_dirs):
    """3 epochs of 4 steps with EMA, validation every epoch and top-2 checkpoints."""
    folder = str(tmp_path_factory.mktemp("ema"))
    proc = run_entry_point("train.py", "--dataset_path", cifar_dirs[0], *TINY, "--save_checkpoint_path", folder,
                           "--epoch_size", "3", "--ema", "True", "--ema_decay", "0.9", "--eval_interval", "1",
                           "--eval_dataset_path", cifar_dirs[1], "--ckpt_save_policy", "top_k",
                           "--keep_checkpoint_max", "2", cwd=folder)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder, proc


def test_validation_and_eval_use_the_ema_weights(ema_run, cifar_dirs):
    folder, proc = ema_run
    assert proc.stderr.count("validation (EMA weights): top-1") == 3
    with open(os.path.join(folder, "metrics.jsonl"), encoding="utf-8") as f:
        validated = {r["epoch"]: r["top_1_accuracy"] for r in map(json.loads, f) if r["type"] == "eval"}
    final = os.path.join(folder, "mobilenetv1-3_4.ckpt")
    params = ms.load_checkpoint(final)
    assert not np.array_equal(params["ema.fc.weight"].asnumpy(), params["fc.weight"].asnumpy())
    result = run_entry_point("eval.py", "--dataset_path", cifar_dirs[1], "--checkpoint_path", final,
                             *TINY[:8], cwd=folder)  # the network and the 64 validated images
    assert result.returncode == 0, result.stderr[-3000:]
    assert "using its EMA weights" in result.stderr
    top1 = float(re.search(r"'top_1_accuracy': ([0-9.]+)", result.stdout)[1])
    assert top1 == pytest.approx(validated[3], abs=1e-9)  # eval.py scores what validation scored
    best = ms.load_checkpoint(os.path.join(folder, "mobilenetv1-best.ckpt"))
    assert "ema.fc.weight" in best
    kept = [key[0] for key, _ in list_epoch_checkpoints(folder)]
    best_other = max((1, 2), key=lambda epoch: (validated[epoch], epoch))
    assert kept == sorted([best_other, 3])


def test_resume_restores_the_ema_exactly(tmp_path, cifar_dirs):
    args = ["--dataset_path", cifar_dirs[0], *TINY, "--epoch_size", "2", "--ema", "True", "--ema_decay", "0.9"]
    full, resumed = str(tmp_path / "full"), str(tmp_path / "resumed")
    os.makedirs(full)
    proc = run_entry_point("train.py", *args, "--save_checkpoint_path", full, cwd=full)
    assert proc.returncode == 0, proc.stderr[-3000:]
    os.makedirs(resumed)
    proc = run_entry_point("train.py", *args, "--save_checkpoint_path", resumed, "--resume",
                           os.path.join(full, "mobilenetv1-1_4.ckpt"), cwd=resumed)
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses, again = step_losses(full), step_losses(resumed)
    assert sorted(again) == [5, 6, 7, 8] and all(again[s] == losses[s] for s in again)
    final, reference = (ms.load_checkpoint(os.path.join(d, "mobilenetv1-2_4.ckpt")) for d in (resumed, full))
    ema_names = [name for name in reference if name.startswith("ema.")]
    assert len(ema_names) > 50
    for name in ema_names:
        np.testing.assert_array_equal(final[name].asnumpy(), reference[name].asnumpy(), err_msg=name)
