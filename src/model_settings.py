"""The settings a checkpoint records about the network and the input it was trained for, and their use.

Every checkpoint this repository writes holds, besides the weights, one string entry (``mobilenetv1_settings``,
JSON) with the keys below. eval.py, export.py, predict.py and preprocess.py take them from the checkpoint
where the command line does not set them, so a checkpoint evaluates as it was trained whatever YAML is
loaded. A flag that contradicts the checkpoint is a one-line error for the keys that change the network or
the normalisation (the scores would be silently wrong), and for the input size of the data sets stored at
32x32 (resizing them changes the scale of everything the network learnt); for ImageNet-style photos, which
every evaluation resizes anyway, another input size is legitimate and a warning. Official checkpoints record
nothing and load exactly as the YAML and flags say.
"""
import json
import logging
import os
import sys

import mindspore as ms

from src.model_utils.config import flags_given, value_error
from src.model_utils.errors import UserInputError

logger = logging.getLogger(__name__)
SETTINGS_ENTRY = "mobilenetv1_settings"
EXPORT_SUFFIXES = (".mindir", ".onnx", ".air")
SIDECAR_SUFFIX = ".json"  # an export's settings: <file>.mindir.json beside <file>.mindir
NETWORK = ("class_num", "width_multiplier", "stem_stride", "conv_padding", "activation")
NORMALISATION = ("dataset",)  # the pipeline and the mean/std of the input
RESOLUTION = ("image_size",)
VIEWS = ("eval_flip", "eval_shift")  # the training YAML's evaluation views (eval.py and validation)
PHOTO_DATASETS = ("imagenet2012",)  # decoded and resized from photos of any size: another input size is legitimate
RECORDED = NETWORK + NORMALISATION + RESOLUTION + VIEWS + ("train_augment",)
APPLIED = NETWORK + NORMALISATION + RESOLUTION + VIEWS
CLASS_NAMES_KEY = "class_names"  # not a config key: the classes in label order (class folders, sorted)


class SettingsConflict(UserInputError):
    """A flag that contradicts the checkpoint on a setting that would make its scores meaningless."""


def recorded_settings(config):
    """{key: value} of the RECORDED keys of ``config``, and its class names in label order when it has them."""
    settings = {key: getattr(config, key) for key in RECORDED}
    if getattr(config, CLASS_NAMES_KEY, None):
        settings[CLASS_NAMES_KEY] = list(config.class_names)
    return settings


def _class_names_problem(names, class_num):
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(
            names):
        return "not a list of distinct class names"
    if isinstance(class_num, int) and len(names) > class_num:
        return f"{len(names)} names for class_num {class_num}"
    return None


def settings_entry(settings):
    """The ``append_dict`` entry of a checkpoint that records ``settings``."""
    return {SETTINGS_ENTRY: json.dumps(settings, sort_keys=True)}


def export_sidecar(path):
    """The file beside an exported model that records its settings and input shape (``write_export_sidecar``)."""
    return path + SIDECAR_SUFFIX


def read_export_record(path):
    """{"settings": ..., "input_shape": [...]} of an exported model; None without its sidecar (an official export)."""
    sidecar = export_sidecar(path)
    if not os.path.isfile(sidecar):
        return None
    try:
        with open(sidecar, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError) as err:
        raise SettingsConflict(f"{sidecar}: cannot read the settings of {path} ({err}); export it again") from err
    if not isinstance(record, dict) or not isinstance(record.get("settings"), dict):
        raise SettingsConflict(f"{sidecar}: not the settings of an export; export {path} again")
    return record


def _settings_text(path):
    """The JSON settings of a checkpoint's entry or an export's sidecar; None where none is recorded."""
    if path.endswith(EXPORT_SUFFIXES):
        record = read_export_record(path)
        return None if record is None else json.dumps(record["settings"])
    try:
        return ms.load_checkpoint(path, choice_func=lambda name: name == SETTINGS_ENTRY).get(SETTINGS_ENTRY)
    except (ValueError, RuntimeError, OSError):
        return None  # the loader of the weights names an unreadable file


def read_settings(path, like=None):
    """The settings a checkpoint or an export records; None for one that records none (official, older).

    With ``like`` (a Config), each recorded key is checked against the schema as a flag would be: a damaged or
    edited entry is one line naming the file and the key.
    """
    entry = _settings_text(path)
    if not isinstance(entry, str):
        return None
    try:
        settings = json.loads(entry)
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        raise SettingsConflict(f"{path}: its {SETTINGS_ENTRY} entry is not a JSON object of settings; the file is "
                               "damaged or was edited")
    for key in settings if like is not None else ():
        if key == CLASS_NAMES_KEY:
            problem = _class_names_problem(settings[key], settings.get("class_num"))
        else:
            problem = value_error(key, settings[key], getattr(like, key)) if hasattr(like, key) else "unknown key"
        if problem:
            raise SettingsConflict(f"{path}: its {SETTINGS_ENTRY} entry holds {key} {settings[key]!r} ({problem}); "
                                   "the file is damaged or was edited")
    return settings


def _differences(now, trained):
    extra, missing = sorted(set(now) - set(trained)), sorted(set(trained) - set(now))
    parts = [f"{what}: {', '.join(names[:3])}" for what, names in (("new", extra), ("gone", missing)) if names]
    return "; ".join(parts) or "the same names in another order"


def _source(key, given, config_path):
    return "flag" if key in given else f"YAML {os.path.basename(config_path)}" if config_path else "YAML"


def apply_checkpoint_settings(config, path, argv=None, log=logger.info, resume=False):
    """Set the APPLIED keys of ``config`` from the checkpoint ``path`` where the command line ``argv`` does not set
    them; log one line naming each setting and where it came from; return {key: source}.

    A flag that contradicts the checkpoint is a SettingsConflict (network, normalisation, the image size of stored
    32x32 data sets) or a warning (the image size of ImageNet-style photos). ``resume``: every RECORDED key is
    applied, and any contradicting flag is a SettingsConflict (a resumed run goes on as it started).
    """
    given = flags_given(sys.argv[1:] if argv is None else argv)
    recorded = read_settings(path, like=config)
    yaml_path = getattr(config, "config_path", None)
    sources = {}
    keys = RECORDED if resume else APPLIED
    for key in keys:
        value = getattr(config, key)
        if recorded is None or key not in recorded:
            sources[key] = _source(key, given, yaml_path)
            continue
        trained = recorded[key]
        if key in given and value != trained:
            if resume:
                raise SettingsConflict(f"--{key} {value} contradicts {path}, whose run was started with {key} "
                                       f"{trained}: drop the flag to resume it, or start a new run in another "
                                       "--save_checkpoint_path")
            if key in NETWORK + NORMALISATION:
                raise SettingsConflict(f"--{key} {value} contradicts {path}, trained with {key} {trained}: drop the "
                                       f"flag (the checkpoint's value is used), or use a checkpoint trained with it")
            if key in RESOLUTION and config.dataset not in PHOTO_DATASETS:
                raise SettingsConflict(f"--{key} {value} contradicts {path}, trained with {key} {trained} on the "
                                       f"stored 32x32 images of {config.dataset}: drop the flag (the checkpoint's "
                                       "value is used)")
            if key in RESOLUTION:
                logger.warning("--%s %s: %s was trained at %s; the scores are those of another resolution",
                               key, value, path, trained)
            sources[key] = "flag"
            continue
        setattr(config, key, trained)
        sources[key] = "flag" if key in given else "checkpoint"
    if recorded is not None and recorded.get(CLASS_NAMES_KEY):
        if resume and getattr(config, CLASS_NAMES_KEY, None) not in (None, recorded[CLASS_NAMES_KEY]):
            raise SettingsConflict(f"the training folder's classes differ from those of {path}'s run "
                                   f"({_differences(config.class_names, recorded[CLASS_NAMES_KEY])}): resume with "
                                   "the same class folders, or start a new run in another --save_checkpoint_path")
        config.class_names = recorded[CLASS_NAMES_KEY]
    if recorded is not None and config.eval_flip and recorded.get("train_augment") == "none":
        logger.warning("eval_flip: %s was trained without flips (train_augment none); mirrored views lower its "
                       "scores", path)
    settings = ", ".join(f"{key} {getattr(config, key)} ({sources[key]})" for key in keys)
    note = "" if recorded is not None else " (the checkpoint records none: an official or older one)"
    log(f"settings{note}: {settings}")
    return sources
