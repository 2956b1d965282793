"""Training: network, loss, optimizer, mixed precision and callbacks assembled from the config.

Built on ``Model.train``. A run can be resumed exactly (``resume``): network, optimizer moments,
``global_step`` (hence the LR position), the epoch and the data order are restored.
"""
import logging
import os
import signal
import tempfile

import mindspore as ms
import mindspore.dataset as ds
from mindspore import nn, Tensor
from mindspore.train import Model

from src.training.callbacks import CheckpointSaver, EvalMonitor, ProgressMonitor, TrainingRecord
from src.checkpoint import load_pretrained
from src.CrossEntropySmooth import create_loss
from src.dataset import create_dataset_from_config, training_class_names
from src.training.ema import EMAUpdater, WeightEMA
from src.evaluator import Validator, accuracy_metrics
from src.lr_generator import get_lr
from src.mobilenet_v1 import create_network
from src.model_settings import apply_checkpoint_settings, recorded_settings, settings_entry
from src.model_utils.atomic_write import WriteError
from src.model_utils.errors import Interrupted, UserInputError
from src.cpu_kernels.momentum import MomentumCPU
from src.training.optimizer import create_optimizer
from src.training.run_state import RunState, best_checkpoint_name, list_epoch_checkpoints
from src.training.train_step import (accumulation_steps, build_train_step, lr_per_batch, optimizer_step_of,
                                     optimizer_steps_per_epoch, register_accumulation, uses_train_step)

logger = logging.getLogger(__name__)


class TrainingDiverged(UserInputError):
    """The loss became NaN or Inf; the last good checkpoint is kept."""


def resolve_amp_level(config):
    """'auto' keeps the official choice: O2 on Ascend, full precision elsewhere."""
    if config.amp_level == "auto":
        return "O2" if config.device_target == "Ascend" else "O0"
    return config.amp_level


def checkpoint_dir(config, rank, distributed):
    """Official layout: save_checkpoint_path, plus ckpt_<rank>/ in a distributed job.

    Every rank writes its own folder (as the official GPU runs did): the ranks hold identical
    weights, and each folder is complete on its own (checkpoints, metrics, curves).
    """
    if distributed:
        return os.path.join(config.save_checkpoint_path, f"ckpt_{rank}")
    return config.save_checkpoint_path


def ensure_writable(directory):
    """Create ``directory`` and prove it takes files, before any compute starts."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-test-"):
            pass
    except OSError as err:
        raise UserInputError(f"output folder {directory} is not writable: {err}") from err


def resume_checkpoint(config, ckpt_dir):
    """The checkpoint ``resume`` names: a path, or for 'auto' the newest in ``ckpt_dir`` (None if none)."""
    if config.resume != "auto":
        if not os.path.isfile(config.resume):
            raise UserInputError(f"--resume: checkpoint not found: {config.resume}")
        return config.resume
    found = list_epoch_checkpoints(ckpt_dir)
    if not found:
        logger.info("--resume auto: no checkpoint in %s, starting from scratch", ckpt_dir)
        return None
    return found[-1][1]


def refuse_another_runs_checkpoints(ckpt_dir):
    """A new run never writes among another run's checkpoints: its pruning, ``best`` and a later ``--resume auto``
    would take the two for one run."""
    found = [os.path.basename(path) for _, path in list_epoch_checkpoints(ckpt_dir)]
    if os.path.isfile(os.path.join(ckpt_dir, best_checkpoint_name())):
        found.append(best_checkpoint_name())
    if found:
        listed = ", ".join(found[-3:]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        raise UserInputError(f"{ckpt_dir} holds the checkpoints of another run ({listed}): continue that run with "
                             "--resume auto, or give this one a new --save_checkpoint_path")


def build_model(config, net, lr):
    """Model with Momentum (grouped weight decay, Nesterov), the loss, amp level and a loss scale valid on the device.

    With ``clip_grad`` or ``gradient_accumulation_steps`` > 1 the Model trains a ``src.training.train_step.TrainStep``
    (``model.train_network``); otherwise it is the standard Model (``nn.TrainOneStepCell``). ``lr`` is
    counted in optimizer steps (``src.training.train_step.optimizer_steps_per_epoch``).
    """
    amp_level = resolve_amp_level(config)
    loss_scale = 1.0 if amp_level == "O0" else float(config.loss_scale)
    opt = create_optimizer(net, config, Tensor(lr), loss_scale, amp_level)
    kwargs = {"amp_level": amp_level, "metrics": accuracy_metrics(config.class_num)}
    if amp_level != "O0":
        # the only loss-scale manager every device accepts (CPU rejects overflow detection)
        kwargs["loss_scale_manager"] = ms.FixedLossScaleManager(loss_scale, drop_overflow_update=False)
        if config.device_target == "Ascend":
            kwargs["keep_batchnorm_fp32"] = False
    if not uses_train_step(config):
        return Model(net, loss_fn=create_loss(config), optimizer=opt, **kwargs), opt, amp_level
    # clip_grad / gradient_accumulation_steps: the same network, loss, amp and optimizer in a TrainStep
    loss_fn = create_loss(config)
    amp_kwargs = {key: kwargs.pop(key) for key in ("loss_scale_manager", "keep_batchnorm_fp32") if key in kwargs}
    train_step = build_train_step(net, loss_fn, opt, config, amp_level, **amp_kwargs)
    eval_network = nn.WithEvalCell(net, loss_fn, amp_level in ("O2", "O3"))
    return (Model(train_step, eval_network=eval_network, metrics=kwargs["metrics"], eval_indexes=[0, 1, 2]),
            opt, amp_level)


class _StopOnSignal:
    """First Ctrl-C / SIGTERM: finish the step, save, stop. A second one aborts at once.

    While MindSpore's data pipeline runs, its own SIGINT handler turns Ctrl-C into a SIGTERM, so
    the two are handled alike and the log does not name which one came.
    """

    def __init__(self, record):
        self.record = record
        self.previous = {}

    def _handle(self, signum, _frame):
        if self.record.interrupted:
            raise KeyboardInterrupt
        logger.warning("stop requested (Ctrl-C or SIGTERM): stopping after this step and saving a checkpoint "
                       "(Ctrl-C again to abort)")
        self.record.interrupted = True

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def training_callbacks(config, record, validate, lr, eval_dataset, ckpt_dir, summary, ema, run_state):
    """Progress, EMA update, validation, then checkpoints (which rank themselves by the validation)."""
    callbacks = [ProgressMonitor(record, config.batch_size, lr_per_batch(lr, config), config.log_interval,
                                 summary=summary)]
    if ema is not None:
        callbacks.append(EMAUpdater(record, ema, accumulation_steps(config)))
    if eval_dataset is not None:
        callbacks.append(EvalMonitor(record, validate, eval_dataset, config.eval_interval, ckpt_dir, summary=summary,
                                     ema=ema, run_state=run_state))
    if config.save_checkpoint:
        callbacks.append(CheckpointSaver(record, ckpt_dir, config.save_checkpoint_epochs, config.keep_checkpoint_max,
                                         config.ckpt_save_policy, run_state))
    return callbacks


def run_state_of(config, net, opt, train_network, ema):
    """What this run's checkpoints hold besides the training cell, and how a resume restores it."""
    run_state = RunState(net, opt)
    settings = settings_entry(recorded_settings(config))
    run_state.register(entries=lambda: settings)
    if ema is not None:
        run_state.register(entries=ema.state, restore=ema.load_state)
    register_accumulation(run_state, train_network, config)
    return run_state


def train(config, rank=0, distributed=False):
    """Train as the config says; return the checkpoint folder (None when checkpoints are off)."""
    if config.parameter_server:
        raise UserInputError("parameter_server=True is not supported: MindSpore 2.x removed Cell.set_param_ps, "
                             "so parameter-server training of the official repository cannot run")
    if config.eval_interval > 0 and not config.eval_dataset_path:
        raise UserInputError("eval_interval > 0 needs --eval_dataset_path (the evaluation set)")
    if config.ckpt_save_policy == "top_k" and config.eval_interval <= 0:
        raise UserInputError("ckpt_save_policy top_k ranks checkpoints by validation: set --eval_interval "
                             "and --eval_dataset_path, or use latest_k")
    ckpt_dir = checkpoint_dir(config, rank, distributed)
    ensure_writable(ckpt_dir)
    config.class_names = training_class_names(config)  # recorded in every checkpoint; validation maps by them
    resume_from = resume_checkpoint(config, ckpt_dir) if config.resume else None
    if resume_from:
        apply_checkpoint_settings(config, resume_from, resume=True)
    else:
        refuse_another_runs_checkpoints(ckpt_dir)
    dataset = create_dataset_from_config(config, do_train=True)
    eval_dataset = None
    if config.eval_interval > 0:
        eval_dataset = create_dataset_from_config(config, do_train=False, dataset_path=config.eval_dataset_path)
    steps = dataset.get_dataset_size()
    if steps == 0:
        raise UserInputError(f"the training set gives no full batch of {config.batch_size} images: "
                             f"lower --batch_size or add data ({config.dataset_path})")

    net = create_network(config)
    if config.pre_trained:
        untouched = load_pretrained(net, config.pre_trained)
        logger.info("loaded weights from %s (%d parameters kept their initial values)",
                    config.pre_trained, len(untouched))
    lr = get_lr(config.lr_init, config.lr_end, config.lr_max, config.warmup_epochs, config.epoch_size,
                optimizer_steps_per_epoch(steps, config), config.lr_decay_mode)
    if config.warmup_epochs > config.epoch_size:
        logger.warning("warmup_epochs %s is longer than the training (epoch_size %d): the LR peaks at %.4g, not at "
                       "lr_max %s", config.warmup_epochs, config.epoch_size, float(lr.max()), config.lr_max)
    model, opt, amp_level = build_model(config, net, lr)
    ema = WeightEMA(net, config.ema_decay) if config.ema else None
    run_state = run_state_of(config, net, opt, model.train_network, ema)

    start_step = config.pretrain_epoch_size * steps
    if resume_from:
        start_step = run_state.resume(resume_from)
        logger.info("resuming from %s at epoch %d, step %d", resume_from, start_step // steps + 1,
                    start_step % steps + 1)
    elif start_step:
        # the LR continues where pre_trained stopped
        opt.global_step.set_data(Tensor([optimizer_step_of(start_step, config)], ms.int32))
    start_epoch = start_step // steps
    if start_epoch >= config.epoch_size:
        raise UserInputError(f"nothing to train: the run is at epoch {start_epoch} of epoch_size "
                             f"{config.epoch_size}")
    if resume_from:
        # the data order continues where the run stopped; replaying the augmentations of the
        # skipped steps too makes the resumed run identical to an uninterrupted one
        ds.config.set_fast_recovery(not config.resume_replay_augmentation)
        dataset.set_init_step(start_step)

    metrics_path = os.path.join(ckpt_dir, "metrics.jsonl")
    if not resume_from and os.path.exists(metrics_path):
        os.remove(metrics_path)  # a new run starts a new record; a resumed one continues it
    record = TrainingRecord(steps, config.epoch_size, start_step, metrics_path)
    record.last_saved = resume_from
    summary = None
    if config.enable_summary:
        from src.training.mindinsight_summary import SummaryScalars
        summary = SummaryScalars(os.path.join(ckpt_dir, "summary"))
    validate = Validator(config, net, model) if eval_dataset is not None else None
    callbacks = training_callbacks(config, record, validate, lr, eval_dataset, ckpt_dir, summary, ema, run_state)
    logger.info("training epochs %d-%d of %d steps, batch %d, image %d, width %s, amp %s, %s, %s, optimizer %s",
                start_epoch + 1, config.epoch_size, steps, config.batch_size, config.image_size,
                config.width_multiplier, amp_level, config.device_target, net.layers.describe(),
                "cpp" if isinstance(opt, MomentumCPU) else "mindspore")
    if distributed:
        logger.info("rank %d reads shard %d of %d of the training set (%d images per epoch)", rank, rank,
                    config.device_num, steps * config.batch_size)
    # on CPU sinking gains nothing and would forbid mid-epoch resume; the EMA updates after every step
    sink = config.device_target != "CPU" and not config.ema
    try:
        with _StopOnSignal(record):
            model.train(config.epoch_size, dataset, callbacks=callbacks, dataset_sink_mode=sink,
                        sink_size=steps if sink else -1, initial_epoch=start_epoch)
    except WriteError as err:
        kept = (f"the last good checkpoint is {record.last_saved}: make room, then continue with the same command "
                "plus --resume auto" if record.last_saved else "no checkpoint was written")
        raise WriteError(f"{err}. Training stopped; {kept}") from err
    finally:
        if summary is not None:
            summary.close()
        if os.path.exists(record.metrics_path):
            from src.training.training_plot import plot_or_warn
            curves = plot_or_warn(record.metrics_path, os.path.join(ckpt_dir, "curves.png"))
            if curves:
                logger.info("curves: %s", curves)
    if record.diverged_at:
        epoch, step, loss = record.diverged_at
        kept = f"the last good checkpoint is {record.last_saved}" if record.last_saved else "no checkpoint written"
        raise TrainingDiverged(f"loss became {loss} at epoch {epoch} step {step}: training stopped ({kept}). "
                               "Lower lr_max, raise warmup_epochs, or check the data.")
    if record.interrupted:
        raise Interrupted(f"training interrupted; state saved to {record.last_saved}. "
                          "Continue with the same command plus --resume auto")
    return ckpt_dir if config.save_checkpoint else None
