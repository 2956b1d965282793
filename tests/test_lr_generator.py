"""Every LR mode against values computed by hand from the official formulas."""
import math

import numpy as np
import pytest

from src.lr_generator import get_lr

# lr_init, lr_end, lr_max, warmup_epochs, total_epochs, steps_per_epoch
ARGS = (0.01, 0.001, 0.1, 2, 10, 10)  # 100 steps, 20 of warm-up


def test_length_and_dtype():
    lr = get_lr(*ARGS, "poly")
    assert lr.shape == (100,) and lr.dtype == np.float32


def test_steps():
    lr = get_lr(*ARGS, "steps")
    assert lr[0] == pytest.approx(0.01) and lr[10] == pytest.approx(0.01 + 0.09 * 10 / 20)
    assert lr[20] == pytest.approx(0.1) and lr[29] == pytest.approx(0.1)
    assert lr[30] == pytest.approx(0.01) and lr[59] == pytest.approx(0.01)
    assert lr[60] == pytest.approx(0.001) and lr[80] == pytest.approx(0.0001) and lr[99] == pytest.approx(0.0001)


def test_poly_ignores_lr_end():
    lr = get_lr(*ARGS, "poly")
    assert lr[5] == pytest.approx(0.01 + 0.09 / 20 * 5)
    assert lr[20] == pytest.approx(0.1)
    assert lr[60] == pytest.approx(0.1 * (1 - 40 / 80) ** 2)
    assert lr[99] == pytest.approx(0.1 * (1 / 80) ** 2)


def test_cosine_official_hybrid():
    lr = get_lr(*ARGS, "cosine")
    assert lr[0] == pytest.approx(0.01 + 0.09 / 20 * 1)
    assert lr[19] == pytest.approx(0.1)
    i = 50
    expected = 0.1 * ((100 - i) / 80 * 0.5 * (1 + math.cos(math.pi * 2 * 0.47 * i / 80)) + 1e-5)
    assert lr[i] == pytest.approx(expected)


def test_linear():
    lr = get_lr(*ARGS, "linear")
    assert lr[10] == pytest.approx(0.055)
    assert lr[20] == pytest.approx(0.1)
    assert lr[60] == pytest.approx(0.1 - 0.099 * 40 / 80)


def test_official_imagenet_linear_without_warmup():
    lr = get_lr(0, 0.0, 0.8, 0, 90, 5, "linear")
    assert lr[0] == pytest.approx(0.8) and lr[225] == pytest.approx(0.4) and lr[-1] == pytest.approx(0.8 / 450)


def test_cosine_warmup_reaches_max_then_ends_at_lr_end():
    lr = get_lr(*ARGS, "cosine_warmup")
    assert lr[0] == pytest.approx(0.01 + 0.09 / 20)
    assert lr[19] == pytest.approx(0.1) and lr[20] == pytest.approx(0.1)
    assert lr[20 + 79 // 2] == pytest.approx(0.001 + 0.099 * 0.5 * (1 + math.cos(math.pi * 39 / 79)))
    assert lr[-1] == pytest.approx(0.001)
    assert np.all(np.diff(lr[20:]) <= 0)


def test_unknown_mode_rejected():
    with pytest.raises(ValueError, match="lr_decay_mode"):
        get_lr(*ARGS, "exponential")


def test_fractional_warmup_epochs():
    lr = get_lr(0.0, 0.0, 0.1, 0.5, 2, 10, "cosine_warmup")  # 5 warm-up steps
    assert lr[4] == pytest.approx(0.1) and lr[3] == pytest.approx(0.08) and lr[5] == pytest.approx(0.1)
