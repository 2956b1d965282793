"""Per-step learning-rate arrays.

``steps``, ``poly``, ``cosine`` and ``linear`` reproduce the official generator exactly,
quirks included (``poly`` and ``cosine`` ignore ``lr_end``; ``cosine`` is a linear-times-cosine
curve), so official recipes train the same. ``cosine_warmup`` is the usual schedule:
linear warm-up from ``lr_init`` to ``lr_max``, then half a cosine from ``lr_max`` to ``lr_end``.
"""
import math

import numpy as np

LR_DECAY_MODES = ("steps", "poly", "cosine", "linear", "cosine_warmup")


def _steps(i, lr_init, lr_end, lr_max, warmup_steps, total_steps):
    if i < warmup_steps:
        return lr_init + (lr_max - lr_init) * i / warmup_steps
    for fraction, factor in ((0.8, 0.001), (0.6, 0.01), (0.3, 0.1)):
        if i >= fraction * total_steps:
            return lr_max * factor
    return lr_max


def _poly(i, lr_init, lr_end, lr_max, warmup_steps, total_steps):
    if i < warmup_steps:
        return lr_init + (lr_max - lr_init) / warmup_steps * i
    base = 1.0 - (i - warmup_steps) / (total_steps - warmup_steps)
    return max(lr_max * base * base, 0.0)


def _cosine(i, lr_init, lr_end, lr_max, warmup_steps, total_steps):
    if i < warmup_steps:
        return lr_init + (lr_max - lr_init) / warmup_steps * (i + 1)
    decay_steps = total_steps - warmup_steps
    linear_decay = (total_steps - i) / decay_steps
    cosine_decay = 0.5 * (1 + math.cos(math.pi * 2 * 0.47 * i / decay_steps))
    return lr_max * (linear_decay * cosine_decay + 0.00001)


def _linear(i, lr_init, lr_end, lr_max, warmup_steps, total_steps):
    if i < warmup_steps:
        return lr_init + (lr_max - lr_init) * i / warmup_steps
    return lr_max - (lr_max - lr_end) * (i - warmup_steps) / (total_steps - warmup_steps)


def _cosine_warmup(i, lr_init, lr_end, lr_max, warmup_steps, total_steps):
    if i < warmup_steps:
        return lr_init + (lr_max - lr_init) * (i + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps - 1)
    progress = min(1.0, (i - warmup_steps) / decay_steps)
    return lr_end + (lr_max - lr_end) * 0.5 * (1 + math.cos(math.pi * progress))


_SCHEDULES = {"steps": _steps, "poly": _poly, "cosine": _cosine, "linear": _linear,
              "cosine_warmup": _cosine_warmup}


def get_lr(lr_init, lr_end, lr_max, warmup_epochs, total_epochs, steps_per_epoch, lr_decay_mode):
    """Learning rate of every step, as float32 of length total_epochs * steps_per_epoch."""
    if lr_decay_mode not in _SCHEDULES:
        raise ValueError(f"lr_decay_mode must be one of {LR_DECAY_MODES}, got '{lr_decay_mode}'")
    total_steps = steps_per_epoch * total_epochs
    warmup_steps = int(steps_per_epoch * warmup_epochs)
    schedule = _SCHEDULES[lr_decay_mode]
    lr = [schedule(i, lr_init, lr_end, lr_max, warmup_steps, total_steps) for i in range(total_steps)]
    return np.array(lr, dtype=np.float32)
