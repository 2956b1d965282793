"""Training callbacks: progress and metrics, atomic checkpoints, validation while training.

All of them are MindSpore ``Callback``s driven by ``Model.train``. ``TrainingRecord`` is shared
state: the progress monitor marks a non-finite loss in it, the checkpoint saver then stops
writing, so the last checkpoint on disk is always a good one.
"""
import json
import logging
import math
import os
import sys
import time

import numpy as np
from mindspore.train import Callback

from src.checkpoint import save_checkpoint_atomically
from src.model_utils.atomic_write import WriteError, atomic_open
from src.training.run_state import best_checkpoint_name, epoch_checkpoint_name, list_epoch_checkpoints

logger = logging.getLogger(__name__)


class TrainingRecord:
    """What the callbacks share: run geometry, stop reasons, the metrics file.

    ``start_step`` is the global step a resumed run starts from (Model.train counts steps from 0
    in every run); ``interrupted`` is set by a signal handler and honoured at the next step end.
    """

    def __init__(self, steps_per_epoch, total_epochs, start_step=0, metrics_path=None):
        self.steps_per_epoch = steps_per_epoch
        self.total_epochs = total_epochs
        self.start_step = start_step
        self.metrics_path = metrics_path
        self.diverged_at = None
        self.interrupted = False
        self.last_saved = None
        self._metrics_lines = self._recorded_lines()
        self._metrics_failed = False
        self.val_top1 = self._recorded_validations()

    def _recorded_lines(self):
        """The records already in the metrics file (a resumed run continues it)."""
        if not self.metrics_path or not os.path.exists(self.metrics_path):
            return []
        with open(self.metrics_path, encoding="utf-8") as f:
            return [line for line in f if line.strip()]

    def _recorded_validations(self):
        """{epoch: top-1} of the validations among the recorded lines."""
        records = map(json.loads, self._metrics_lines)
        return {r["epoch"]: r["top_1_accuracy"] for r in records if r.get("type") == "eval"}

    def global_step(self, cb_params):
        return self.start_step + cb_params.cur_step_num

    def step_in_epoch(self, cb_params):
        return (self.global_step(cb_params) - 1) % self.steps_per_epoch + 1

    def epoch_due(self, cb_params, every):
        """A healthy, completed epoch that is a multiple of ``every`` or the last one."""
        epoch = cb_params.cur_epoch_num
        if self.diverged_at or self.step_in_epoch(cb_params) != self.steps_per_epoch:
            return False
        return epoch % every == 0 or epoch == self.total_epochs

    def write(self, **record):
        """Append a record; the file is rewritten whole (atomically), so a full disk never leaves half a line. A
        failed write is a warning (once): the records stay in memory and the next write tries again."""
        if not self.metrics_path:
            return
        self._metrics_lines.append(json.dumps(record) + "\n")
        try:
            with atomic_open(self.metrics_path, "w", encoding="utf-8") as f:
                f.writelines(self._metrics_lines)
        except WriteError as err:
            if not self._metrics_failed:
                logger.warning("%s; training goes on, the records are written again with the next one", err)
            self._metrics_failed = True


def _loss_value(cb_params):
    output = cb_params.net_outputs
    if isinstance(output, (tuple, list)):
        output = output[0]
    return float(np.mean(output.asnumpy()))


def _format_seconds(seconds):
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ProgressMonitor(Callback):
    """Loss, LR, img/s and ETA: a live line on a terminal, plain lines every ``log_interval`` steps otherwise.

    Every logged step and every epoch also goes to the metrics file (JSON lines), and a
    non-finite loss stops training.
    """

    def __init__(self, record, batch_size, lr_per_step, log_interval=50, stream=None, summary=None):
        super().__init__()
        self.record = record
        self.steps_per_epoch = record.steps_per_epoch
        self.batch_size = batch_size
        self.lr_per_step = lr_per_step
        self.log_interval = max(1, log_interval)
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.summary = summary
        self._epoch_start = self._window_start = None
        self._window_steps = 0
        self._epoch_losses = []
        self._run_start = None
        self._steps_done = 0

    def on_train_begin(self, run_context):
        self._run_start = time.time()

    def on_train_epoch_begin(self, run_context):
        self._epoch_start = self._window_start = time.time()
        self._window_steps = 0
        self._epoch_losses = []

    def on_train_step_end(self, run_context):
        cb_params = run_context.original_args()
        loss = _loss_value(cb_params)
        epoch, global_step = cb_params.cur_epoch_num, self.record.global_step(cb_params)
        step = self.record.step_in_epoch(cb_params)
        if self.record.interrupted:
            run_context.request_stop()
        if not math.isfinite(loss):
            self.record.diverged_at = (epoch, step, loss)
            self.record.write(type="diverged", epoch=epoch, step=step, global_step=global_step, loss=str(loss))
            run_context.request_stop()
            return
        self._epoch_losses.append(loss)
        self._window_steps += 1
        self._steps_done += 1
        if not (self.live or step % self.log_interval == 0 or step == self.steps_per_epoch):
            return
        now = time.time()
        img_per_s = self._window_steps * self.batch_size / max(now - self._window_start, 1e-9)
        remaining = self.record.total_epochs * self.steps_per_epoch - global_step
        eta = remaining * (now - self._run_start) / self._steps_done
        lr = float(self.lr_per_step[min(global_step - 1, len(self.lr_per_step) - 1)])
        text = (f"epoch: {epoch} step: {step}/{self.steps_per_epoch}, loss is {loss:.6f}, lr {lr:.6f}, "
                f"{img_per_s:.1f} img/s, eta {_format_seconds(eta)}")
        if self.live:
            self.stream.write("\r" + text + "\033[K")
            self.stream.flush()
        else:
            print(text, file=self.stream, flush=True)
        if step % self.log_interval == 0 or step == self.steps_per_epoch:
            self._window_start, self._window_steps = now, 0
            self.record.write(type="step", epoch=epoch, step=step, global_step=global_step, loss=loss, lr=lr,
                              img_per_s=round(img_per_s, 2), time=round(now - self._run_start, 3))
            if self.summary is not None:
                self.summary.scalars(global_step, loss=loss, lr=lr)

    def on_train_epoch_end(self, run_context):
        if self.record.diverged_at or not self._epoch_losses:
            return
        cb_params = run_context.original_args()
        seconds = time.time() - self._epoch_start
        mean_loss = float(np.mean(self._epoch_losses))
        if self.live:
            self.stream.write("\n")
        # the official LossMonitor / TimeMonitor lines
        print(f"epoch: {cb_params.cur_epoch_num} step: {self.record.step_in_epoch(cb_params)}, loss is "
              f"{self._epoch_losses[-1]}", file=self.stream)
        print(f"Train epoch time: {seconds * 1000:.3f} ms, per step time: "
              f"{seconds * 1000 / len(self._epoch_losses):.3f} ms", file=self.stream, flush=True)
        self.record.write(type="epoch", epoch=cb_params.cur_epoch_num, global_step=self.record.global_step(cb_params),
                          mean_loss=mean_loss, epoch_time=round(seconds, 3))


class CheckpointSaver(Callback):
    """``mobilenetv1-{epoch}_{steps}.ckpt`` every ``save_every`` epochs and after the last, written atomically.

    Keeps ``keep_max`` of them (0 = all): with ``policy`` "latest_k" the newest, with "top_k" the
    best by the validation top-1 of their epoch (unvalidated ones rank last), and always the newest
    one, which ``--resume auto`` continues from. Nothing is written once the loss went non-finite.
    An interrupted run (Ctrl-C, SIGTERM) saves its state at the step it stopped,
    ``mobilenetv1-{epoch}_{step}.ckpt`` with step < steps per epoch, which ``--resume`` continues from.
    A checkpoint holds the training cell, ``epoch_num``, ``step_num`` and the entries registered with
    ``run_state`` (src/training/run_state.py).
    """

    def __init__(self, record, directory, save_every, keep_max, policy="latest_k", run_state=None):
        super().__init__()
        self.record = record
        self.directory = directory
        self.save_every = max(1, save_every)
        self.keep_max = keep_max
        self.policy = policy
        self.run_state = run_state

    def save(self, cb_params, epoch, step):
        """Write the current training state as the epoch checkpoint of ``epoch`` and ``step``."""
        path = os.path.join(self.directory, epoch_checkpoint_name(epoch, step))
        extra = self.run_state.entries() if self.run_state is not None else {}
        save_checkpoint_atomically(cb_params.train_network, path, {"epoch_num": epoch, "step_num": step, **extra})
        self.record.last_saved = path
        self._prune()
        return path

    def _prune(self):
        """Delete the epoch checkpoints the policy does not keep; the newest always stays."""
        if self.keep_max <= 0:
            return
        *older, _newest = list_epoch_checkpoints(self.directory)
        if self.policy == "top_k":  # worst first; unvalidated epochs rank below validated ones
            older.sort(key=lambda item: (self.record.val_top1.get(item[0][0], -1.0), item[0]))
        for _, path in older[:max(0, len(older) - (self.keep_max - 1))]:
            os.remove(path)

    def on_train_epoch_end(self, run_context):
        cb_params = run_context.original_args()
        if self.record.epoch_due(cb_params, self.save_every):
            self.save(cb_params, cb_params.cur_epoch_num, self.record.steps_per_epoch)

    def on_train_end(self, run_context):
        cb_params = run_context.original_args()
        if self.record.interrupted and not self.record.diverged_at and cb_params.cur_step_num > 0:
            path = self.save(cb_params, cb_params.cur_epoch_num, self.record.step_in_epoch(cb_params))
            logger.info("interrupted: training state saved to %s (continue with --resume auto)", path)


class EvalMonitor(Callback):
    """Top-1/top-5 on the evaluation set every ``interval`` epochs; keeps ``mobilenetv1-best.ckpt``.

    ``validate`` maps the dataset to the metrics (``src.evaluator.Validator``). With an ``ema`` the EMA
    weights are the ones validated (and the best checkpoint is chosen by them). Runs before the
    CheckpointSaver, which ranks checkpoints by these scores (``record.val_top1``).
    """

    def __init__(self, record, validate, eval_dataset, interval, directory, summary=None, ema=None, run_state=None):
        super().__init__()
        self.record = record
        self.validate = validate
        self.eval_dataset = eval_dataset
        self.interval = interval
        self.best_path = os.path.join(directory, best_checkpoint_name())
        self.best = max(record.val_top1.values(), default=-1.0)
        self.summary = summary
        self.ema = ema
        self.run_state = run_state

    def _evaluate(self):
        if self.ema is None:
            return self.validate(self.eval_dataset)
        self.ema.swap()
        try:
            return self.validate(self.eval_dataset)
        finally:
            self.ema.swap()

    def on_train_epoch_end(self, run_context):
        cb_params = run_context.original_args()
        if not self.record.epoch_due(cb_params, self.interval):
            return
        epoch = cb_params.cur_epoch_num
        start = time.time()
        res = self._evaluate()
        top1, top5 = float(res["top_1_accuracy"]), float(res["top_5_accuracy"])
        self.record.val_top1[epoch] = top1
        improved = top1 > self.best
        if improved:
            self.best = top1
            save_checkpoint_atomically(cb_params.train_network, self.best_path,
                                       {"epoch_num": epoch, "step_num": self.record.steps_per_epoch,
                                        **(self.run_state.entries() if self.run_state is not None else {})})
        weights = " (EMA weights)" if self.ema is not None else ""
        logger.info("epoch %d validation%s: top-1 %.4f, top-5 %.4f (%.1f s)%s", epoch, weights, top1, top5,
                    time.time() - start, f", best so far -> {self.best_path}" if improved else "")
        self.record.write(type="eval", epoch=epoch, global_step=self.record.global_step(cb_params),
                          top_1_accuracy=top1, top_5_accuracy=top5, best_top_1_accuracy=self.best)
        if self.summary is not None:
            self.summary.scalars(self.record.global_step(cb_params), top_1_accuracy=top1, top_5_accuracy=top5)
