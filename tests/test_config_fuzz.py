"""Property-based fuzzing of what a value means: every schema key at and across its bounds, auto_augment strings
from their grammar, and the settings that checkpoints and exports carry.

The properties: a value is refused in one line naming it (exit code 2 for a flag, a UserInputError naming the file
and the key for a settings entry), or it is taken and means what it says (in range, a policy that runs on images,
a settings entry applied). Deterministic with a small budget in CI; MOBILENETV1_FUZZ_EXAMPLES sets a long run.
"""
import json
import math
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from src.model_utils.config import get_config, load_schema, read_values, value_error
from src.model_utils.errors import UserInputError
from src.model_utils.value_checks import Interval

EXAMPLES = int(os.environ.get("MOBILENETV1_FUZZ_EXAMPLES", "0")) or None
SCHEMA = load_schema()
DEFAULTS = read_values(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "default_config.yaml"))
CHECKED_KEYS = sorted(k for k, entry in SCHEMA.items() if k in DEFAULTS and ("range" in entry or "choices" in entry))


def fuzz(ci_examples, *health_checks):
    return settings(derandomize=True, database=None, deadline=None, max_examples=EXAMPLES or ci_examples,
                    suppress_health_check=[HealthCheck.too_slow, *health_checks])


def _near_bounds(entry):
    """Values at, just inside and just outside a range's bounds, and far beyond them."""
    interval = Interval(entry["range"])
    points = []
    for bound in (interval.low, interval.high):
        if math.isfinite(bound):
            points += [bound, bound - 1, bound + 1, bound - 1e-6, bound + 1e-6]
    return st.sampled_from(points + [0, -1e9, 1e9]) if points else st.floats(allow_nan=False)


def _flag_values(key):
    entry, default = SCHEMA[key], DEFAULTS[key]
    odd = st.sampled_from(["", "nan", "inf", "-inf", "abc", "1e400", "[1, 2]", "True", "0x10"])
    if "choices" in entry:
        good = st.sampled_from([str(c) for c in entry["choices"]])
    elif isinstance(default, list):
        good = st.lists(_near_bounds(entry), min_size=0, max_size=3).map(lambda v: json.dumps(v))
    else:
        good = _near_bounds(entry).map(lambda v: str(int(v)) if isinstance(default, int) and float(v).is_integer()
                                       else repr(float(v)))
    return st.one_of(good, odd)


@fuzz(200)
@given(st.sampled_from(CHECKED_KEYS).flatmap(lambda key: st.tuples(st.just(key), _flag_values(key))))
def test_every_checked_key_is_taken_in_range_or_refused_in_one_line(case):
    key, text = case
    config, refused = _parsed(["--dataset", "cifar10", f"--{key}", text])
    if refused:
        code, err = refused
        lines = err.strip().splitlines()
        assert code == 2 and lines and "Traceback" not in err and key in lines[-1], (key, text, lines)
        return
    assert value_error(key, getattr(config, key), DEFAULTS[key]) is None, (key, text, getattr(config, key))


POLICY_HEADS = ["randaug", "trivialaugwide", "autoaug", "autoaugr", "autoaug-cifar10", "autoaug-svhn", "augmix"]
sections = st.lists(st.tuples(st.sampled_from(["m", "n", "mstd", "mmax", "inc", "w", "x"]),
                              st.sampled_from(["0", "1", "2", "5", "9", "10", "11", "14", "15", "20", "31", "32", "50",
                                               "0.5", "101", "-1", "1e3"])), max_size=4)
policies = st.tuples(st.sampled_from(POLICY_HEADS), sections).map(
    lambda hs: "-".join([hs[0], *(k + v for k, v in hs[1])]))


def _parsed(argv):
    """(Config, None) or (None, (exit code, stderr)) of get_config(argv)."""
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            return get_config(argv), None
        except SystemExit as stopped:
            return None, (stopped.code, err.getvalue())


@fuzz(150)
@given(policy=policies, seed=st.integers(0, 2 ** 16))
def test_an_auto_augment_string_is_refused_when_read_or_its_policy_runs(policy, seed):
    """No string passes the config and then fails at some batch: a refused one is one line naming the key."""
    from src.augment.policies import build_policy
    _, refused = _parsed(["--dataset", "cifar10", "--auto_augment", policy])
    if refused:
        code, err = refused
        assert code == 2 and "auto_augment" in err and "Traceback" not in err
        return
    built = build_policy(policy)
    rng = np.random.default_rng(seed)
    for side in (8, 17, 32):
        image = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        out = built(image, rng, (128, 128, 128))
        assert np.asarray(out).shape == image.shape and np.asarray(out).dtype == np.uint8


SETTING_KEYS = ["class_num", "width_multiplier", "stem_stride", "conv_padding", "activation", "dataset", "image_size",
                "eval_flip", "eval_shift", "train_augment", "class_names", "colour"]
setting_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 2000), st.floats(allow_nan=True),
                           st.sampled_from(["relu", "relu6", "gelu", "same", "valid", "cifar10", "fashion_mnist",
                                            "imagenet2012", "crop_flip", "abc", ""]),
                           st.lists(st.sampled_from(["a", "b", "c", ""]), max_size=4))


@pytest.fixture(scope="module")
def tiny_parameter_checkpoint():
    import mindspore as ms
    return [{"name": "w", "data": ms.Parameter(ms.Tensor(np.zeros(1, np.float32)), name="w")}]


@fuzz(60, HealthCheck.function_scoped_fixture)
@given(recorded=st.dictionaries(st.sampled_from(SETTING_KEYS), setting_values, max_size=5), export=st.booleans())
def test_a_settings_entry_is_applied_or_refused_naming_the_file_and_key(tiny_parameter_checkpoint, recorded, export):
    """A checkpoint's entry or an export's settings file with generated values: every value applied is valid for its
    key; anything else is a UserInputError naming the file and the first bad key, never a traceback."""
    import mindspore as ms
    from src.model_settings import SETTINGS_ENTRY, apply_checkpoint_settings
    config = get_config(["--dataset", "cifar10"])
    with tempfile.TemporaryDirectory() as tmp:
        if export:
            path = os.path.join(tmp, "model.onnx")
            with open(path + ".json", "w", encoding="utf-8") as f:
                json.dump({"settings": recorded, "input_shape": [1, 3, 32, 32]}, f)
        else:
            path = os.path.join(tmp, "model.ckpt")
            ms.save_checkpoint(tiny_parameter_checkpoint, path, append_dict={SETTINGS_ENTRY: json.dumps(recorded)})
        try:
            apply_checkpoint_settings(config, path, argv=[], log=lambda line: None)
        except UserInputError as err:
            assert path in str(err) and "\n" not in str(err)
            assert any(key in str(err) for key in recorded) or "JSON" in str(err), str(err)
            return
    for key, value in recorded.items():
        if key in DEFAULTS:
            assert value_error(key, getattr(config, key), DEFAULTS[key]) is None
