"""Training: network, loss, optimizer, mixed precision and callbacks assembled from the config."""
import logging
import os

import mindspore as ms
from mindspore import nn, Tensor
from mindspore.train import CheckpointConfig, LossMonitor, Model, ModelCheckpoint, TimeMonitor

from src.checkpoint import load_pretrained
from src.CrossEntropySmooth import create_loss
from src.dataset import create_dataset_from_config
from src.lr_generator import get_lr
from src.mobilenet_v1 import create_network
from src.model_utils.errors import UserInputError

logger = logging.getLogger(__name__)
NO_DECAY_KEYS = ("beta", "gamma", "bias")


def resolve_amp_level(config):
    """'auto' keeps the official choice: O2 on Ascend, full precision elsewhere."""
    if config.amp_level == "auto":
        return "O2" if config.device_target == "Ascend" else "O0"
    return config.amp_level


def optimizer_groups(net, weight_decay, no_decay_bn_bias):
    """Parameter groups for Momentum; BN gamma/beta and biases get no weight decay when asked."""
    params = net.trainable_params()
    if not no_decay_bn_bias:
        return [{"params": params, "weight_decay": weight_decay}]
    no_decay = [p for p in params if any(key in p.name for key in NO_DECAY_KEYS)]
    decay = [p for p in params if not any(key in p.name for key in NO_DECAY_KEYS)]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0},
            {"order_params": params}]


def checkpoint_dir(config, rank, distributed):
    """Official layout: save_checkpoint_path, plus ckpt_<rank>/ in a distributed job."""
    if distributed:
        return os.path.join(config.save_checkpoint_path, f"ckpt_{rank}")
    return config.save_checkpoint_path


def train(config, rank=0, distributed=False):
    """Train as the config says; return the checkpoint folder (None when checkpoints are off)."""
    if config.parameter_server:
        raise UserInputError("parameter_server=True is not supported: MindSpore 2.x removed Cell.set_param_ps, "
                         "so parameter-server training of the official repository cannot run")
    dataset = create_dataset_from_config(config, do_train=True)
    step_size = dataset.get_dataset_size()
    if step_size == 0:
        raise UserInputError(f"the training set gives no full batch of {config.batch_size} images: "
                         f"lower --batch_size or add data ({config.dataset_path})")
    net = create_network(config)
    if config.pre_trained:
        untouched = load_pretrained(net, config.pre_trained)
        logger.info("loaded weights from %s (%d parameters kept their initial values)",
                    config.pre_trained, len(untouched))

    epochs_to_run = config.epoch_size - config.pretrain_epoch_size
    if epochs_to_run <= 0:
        raise UserInputError(f"epoch_size ({config.epoch_size}) must exceed pretrain_epoch_size "
                         f"({config.pretrain_epoch_size})")
    lr = get_lr(config.lr_init, config.lr_end, config.lr_max, config.warmup_epochs, config.epoch_size,
                step_size, config.lr_decay_mode)
    lr = lr[config.pretrain_epoch_size * step_size:]

    amp_level = resolve_amp_level(config)
    loss_scale = 1.0 if amp_level == "O0" else float(config.loss_scale)
    opt = nn.Momentum(optimizer_groups(net, config.weight_decay, config.no_decay_bn_bias), Tensor(lr),
                      config.momentum, loss_scale=loss_scale)
    model_kwargs = {"amp_level": amp_level, "metrics": {"acc"}}
    if amp_level != "O0":
        model_kwargs["loss_scale_manager"] = ms.FixedLossScaleManager(loss_scale, drop_overflow_update=False)
        if config.device_target == "Ascend":
            model_kwargs["keep_batchnorm_fp32"] = False
    model = Model(net, loss_fn=create_loss(config), optimizer=opt, **model_kwargs)

    callbacks = [TimeMonitor(data_size=step_size), LossMonitor()]
    ckpt_dir = None
    if config.save_checkpoint and rank == 0:
        ckpt_dir = checkpoint_dir(config, rank, distributed)
        ckpt_config = CheckpointConfig(save_checkpoint_steps=config.save_checkpoint_epochs * step_size,
                                       keep_checkpoint_max=config.keep_checkpoint_max)
        callbacks.append(ModelCheckpoint(prefix="mobilenetv1", directory=ckpt_dir, config=ckpt_config))
    logger.info("training %d epoch(s) of %d steps, batch %d, image %d, amp %s, %s",
                epochs_to_run, step_size, config.batch_size, config.image_size, amp_level, config.device_target)
    model.train(epochs_to_run, dataset, callbacks=callbacks, sink_size=step_size, dataset_sink_mode=True)
    return ckpt_dir
