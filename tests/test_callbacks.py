"""ProgressMonitor output (a live line on a terminal, parseable lines otherwise, metrics records) and
CheckpointSaver's pruning."""
import io
import json
from types import SimpleNamespace

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor, nn

from src.training.callbacks import CheckpointSaver, ProgressMonitor, TrainingRecord
from src.training.run_state import list_epoch_checkpoints


class FakeStream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class FakeRunContext:
    def __init__(self, params):
        self.params = params
        self.stopped = False

    def original_args(self):
        return self.params

    def request_stop(self):
        self.stopped = True


def run_epoch(monitor, losses, epoch=1):
    params = SimpleNamespace(cur_epoch_num=epoch, cur_step_num=0, net_outputs=None)
    context = FakeRunContext(params)
    monitor.on_train_begin(context)
    monitor.on_train_epoch_begin(context)
    for loss in losses:
        params.cur_step_num += 1
        params.net_outputs = Tensor(np.float32(loss))
        monitor.on_train_step_end(context)
        if context.stopped:
            break
    monitor.on_train_epoch_end(context)
    return context


def test_plain_lines_every_interval_and_metrics(tmp_path):
    record = TrainingRecord(steps_per_epoch=4, total_epochs=2, metrics_path=str(tmp_path / "m.jsonl"))
    stream = FakeStream(tty=False)
    monitor = ProgressMonitor(record, batch_size=8, lr_per_step=np.linspace(0.1, 0.8, 8), log_interval=2,
                              stream=stream)
    run_epoch(monitor, [2.0, 1.5, 1.2, 1.0])
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("epoch: 1 step: 2/4, loss is 1.500000, lr 0.200000,") and "img/s, eta 00:00:" in lines[0]
    assert lines[1].startswith("epoch: 1 step: 4/4, loss is 1.000000, lr 0.400000")
    assert lines[2] == "epoch: 1 step: 4, loss is 1.0" and lines[3].startswith("Train epoch time:")
    assert "\r" not in stream.getvalue()
    records = [json.loads(line) for line in open(tmp_path / "m.jsonl", encoding="utf-8")]
    assert [r["type"] for r in records] == ["step", "step", "epoch"]
    assert records[2]["mean_loss"] == pytest.approx(1.425)


def test_live_line_on_a_terminal():
    record = TrainingRecord(steps_per_epoch=3, total_epochs=1)
    stream = FakeStream(tty=True)
    run_epoch(ProgressMonitor(record, 8, np.full(3, 0.1), log_interval=50, stream=stream), [1.0, 0.9, 0.8])
    text = stream.getvalue()
    assert text.count("\r") == 3 and "epoch: 1 step: 3/3, loss is 0.800000" in text


def test_non_finite_loss_stops_training(tmp_path):
    record = TrainingRecord(steps_per_epoch=4, total_epochs=1, metrics_path=str(tmp_path / "m.jsonl"))
    context = run_epoch(ProgressMonitor(record, 8, np.full(4, 0.1), stream=FakeStream(False)),
                        [1.0, float("nan"), 1.0, 1.0])
    assert context.stopped and record.diverged_at[:2] == (1, 2)
    assert '"diverged"' in open(tmp_path / "m.jsonl", encoding="utf-8").read()


@pytest.mark.parametrize("keep_max,kept_epochs", [(2, [4, 5]), (0, [1, 2, 3, 4, 5])])
def test_checkpoint_saver_keeps_the_newest_epoch_checkpoints(tmp_path, keep_max, kept_epochs):
    """keep_checkpoint_max k: after every save only the newest k epoch checkpoints remain (0 keeps all);
    mobilenetv1-best.ckpt is not an epoch checkpoint and stays."""
    folder = str(tmp_path)
    (tmp_path / "mobilenetv1-best.ckpt").write_bytes(b"best")
    record = TrainingRecord(steps_per_epoch=2, total_epochs=5)
    saver = CheckpointSaver(record, folder, save_every=1, keep_max=keep_max)
    params = SimpleNamespace(train_network=nn.Dense(3, 2))
    for epoch in range(1, 6):
        params.cur_epoch_num, params.cur_step_num = epoch, 2 * epoch
        saver.on_train_epoch_end(FakeRunContext(params))
        assert len(list_epoch_checkpoints(folder)) == min(epoch, keep_max or epoch)
    kept = list_epoch_checkpoints(folder)
    assert [key for key, _ in kept] == [(epoch, 2) for epoch in kept_epochs]
    assert [int(ms.load_checkpoint(path)["epoch_num"].asnumpy()) for _, path in kept] == kept_epochs
    assert (tmp_path / "mobilenetv1-best.ckpt").read_bytes() == b"best"
