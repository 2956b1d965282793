"""One configuration for train.py, eval.py and export.py.

A config YAML holds values only; the help text and allowed values of every key live in one
place, config_schema.yaml next to this file, so the YAMLs cannot disagree about them. Every key
is also a ``--key`` command-line flag typed like the key's default value. Without
``--config_path`` the YAML is chosen from ``--dataset`` (and ``--device_target`` for
GPU ImageNet), so ``python train.py --dataset imagenet2012`` gets ImageNet settings.
A user YAML is checked against the default YAML of its dataset: unknown keys and
wrongly typed values are errors, keys it lacks take the default values. A YAML in the official
three-document layout (values, help, choices) loads too: its help and choices are ignored.
"""
import argparse
import difflib
import os
import sys
from pprint import pformat

import yaml

from src.model_utils.errors import UserInputError
from src.model_utils.value_checks import value_problem

ROOT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "config_schema.yaml")

# (dataset, device_target) -> default YAML; device None matches any device.
DEFAULT_CONFIGS = {
    ("cifar10", None): "default_config.yaml",
    ("imagenet2012", None): "default_config_imagenet.yaml",
    ("imagenet2012", "GPU"): "default_config_gpu_imagenet.yaml",
    ("fashion_mnist", None): "default_config_fashion_mnist.yaml",
}

# Official keys this repository dropped (nothing read them) -> what to use instead.
REMOVED_KEYS = {
    "checkpoint_file": "use --checkpoint_path (eval.py) or --ckpt_file (export.py)",
    "dataset_name": "use --dataset (preprocess.py reads it; postprocess.py needs only --result_dir and --label_dir)",
}


class Config:
    """Configuration with attribute access."""

    def __init__(self, cfg_dict):
        for key, value in cfg_dict.items():
            setattr(self, key, value)

    def to_dict(self):
        return dict(self.__dict__)

    def __str__(self):
        return pformat(self.__dict__)

    __repr__ = __str__


class ConfigError(UserInputError):
    """A configuration problem; the message names the key or the file."""


class OneLineParser(argparse.ArgumentParser):
    """An error is one line (``train.py: error: ...``), not the usage of every flag above it."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def default_config_path(dataset="cifar10", device_target=None):
    """Path of the shipped YAML for a dataset (and device)."""
    name = DEFAULT_CONFIGS.get((dataset, device_target)) or DEFAULT_CONFIGS.get((dataset, None))
    if name is None:
        known = sorted({d for d, _ in DEFAULT_CONFIGS})
        raise ConfigError(f"unknown dataset '{dataset}'; choose from {known}")
    return os.path.join(ROOT_DIR, name)


def _load_documents(path):
    """The YAML documents of ``path`` (None for an empty one); ConfigError when unreadable."""
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            return list(yaml.safe_load_all(f))
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err


def read_values(path):
    """The values of a config YAML: its first document (official help and choices documents after it are ignored)."""
    docs = [{} if d is None else d for d in _load_documents(path)] or [{}]
    if len(docs) > 3 or not all(isinstance(d, dict) for d in docs):
        raise ConfigError(f"config file {path} must hold 1 to 3 YAML mappings (values, help, choices)")
    return docs[0]


def load_schema(path=SCHEMA_PATH):
    """{key: {"help": text, "choices": [allowed values]}} for every config key (choices optional)."""
    return _load_documents(path)[0]


def _removed(key):
    return f"{key} was removed: {REMOVED_KEYS[key]}"


def _parse_bool(text):
    lowered = str(text).strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (True/False), got '{text}'")


def _parse_int(text):
    try:
        return int(str(text), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None


def _parse_float(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None


def _parse_list(text):
    value = yaml.safe_load(text)
    if not isinstance(value, list):
        raise argparse.ArgumentTypeError(f"expected a list like [1, 2], got '{text}'")
    return value


def _parser_for(default):
    """The flag parser for a key, from the type of its default value."""
    if isinstance(default, bool):
        return _parse_bool
    if isinstance(default, int):
        return _parse_int
    if isinstance(default, float):
        return _parse_float
    if isinstance(default, list):
        return _parse_list
    return str


def _check_value(key, value, default):
    """Type-check a YAML value against the schema default; ints pass where floats are expected."""
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float))
        value = float(value) if ok else value
    elif isinstance(default, (int, str, list)):
        ok = isinstance(value, type(default))
    else:
        ok = True
    if not ok:
        raise ConfigError(f"key '{key}': expected {type(default).__name__}, got {value!r}")
    return value


def _merge_with_defaults(cfg, path):
    """Check a user YAML against the default YAML of its dataset; fill keys it lacks.

    A removed official key is dropped with a warning line, so a YAML copied from the official
    repository still loads (as a flag it is an error: the user is typing it now)."""
    for key in [key for key in cfg if key in REMOVED_KEYS]:
        print(f"warning: {path}: {_removed(key)}; its value is ignored", file=sys.stderr)
        del cfg[key]
    defaults_path = default_config_path(cfg.get("dataset", "cifar10"), cfg.get("device_target"))
    defaults = read_values(defaults_path)
    unknown = sorted(set(cfg) - set(defaults))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown} "
                          f"(known keys are those of {os.path.basename(defaults_path)})")
    merged = dict(defaults)
    for key, value in cfg.items():
        merged[key] = _check_value(key, value, defaults[key])
    return merged


def _pick_config_path(argv):
    """--config_path if given, else the default YAML for --dataset/--device_target."""
    pre = OneLineParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--config_path", default=None)
    pre.add_argument("--dataset", default="cifar10")
    pre.add_argument("--device_target", default=None)
    known, _ = pre.parse_known_args(argv)
    if known.config_path:
        return os.path.abspath(known.config_path)
    return default_config_path(known.dataset, known.device_target)


def _build_parser(cfg, schema, config_path, description):
    parser = OneLineParser(description=description, allow_abbrev=False)
    parser.add_argument("--config_path", default=config_path, help="YAML config file (default: chosen by --dataset)")
    for key, default in cfg.items():
        if isinstance(default, dict):
            continue
        kwargs = {"type": _parser_for(default), "default": default, "help": schema[key]["help"],
                  "metavar": key.upper()}
        if "choices" in schema[key]:
            kwargs["choices"] = schema[key]["choices"]
            kwargs["help"] += f" (one of {kwargs['choices']})"
        elif "range" in schema[key]:
            kwargs["help"] += f" (range {schema[key]['range']})"
        parser.add_argument("--" + key, **kwargs)
    return parser


def _check_unknown_flags(parser, unknown, keys):
    """Reject flags the config does not know, naming the closest known key for a typo."""
    known = ["--config_path"] + ["--" + key for key in keys]
    for arg in unknown:
        flag = arg.split("=", 1)[0]
        if not flag.startswith("--"):
            parser.error(f"unexpected argument '{arg}' (every setting is a --key value pair)")
        if flag[2:] in REMOVED_KEYS:
            parser.error(_removed(flag[2:]))
        close = difflib.get_close_matches(flag, known, n=3, cutoff=0.75)
        hint = "see --help for the known flags"
        if close:
            names = " or ".join(close) if len(close) < 3 else f"{close[0]}, {close[1]} or {close[2]}"
            hint = f"did you mean {names}?"
        parser.error(f"{flag}: unknown flag; {hint}")


def value_error(key, value, like):
    """Why ``value`` is not a valid ``key`` (its type as ``like``'s, then the schema's choices or range); None if
    it is. For values read from files other than the YAML: a checkpoint's settings entry."""
    try:
        value = _check_value(key, value, like)
    except ConfigError as err:
        return str(err)
    entry = load_schema().get(key, {})
    problem = value_problem(value, entry)
    return f"key '{key}' = {value!r}: {problem}" if problem else None


def flags_given(argv):
    """The keys set on the command line (``--key value`` or ``--key=value``), as opposed to the YAML."""
    return {arg[2:].split("=", 1)[0] for arg in argv if arg.startswith("--")}


def get_config(argv=None, description="MobileNetV1"):
    """Parse the YAML and command line into a Config; exits with code 2 on any config error."""
    argv = sys.argv[1:] if argv is None else list(argv)
    error_parser = OneLineParser(prog=os.path.basename(sys.argv[0]))
    try:
        config_path = _pick_config_path(argv)
        cfg = _merge_with_defaults(read_values(config_path), config_path)
    except ConfigError as err:
        error_parser.error(str(err))
    schema = load_schema()
    parser = _build_parser(cfg, schema, config_path, description)
    args, unknown = parser.parse_known_args(argv)
    _check_unknown_flags(parser, unknown, cfg)
    given = flags_given(argv)
    for key, entry in schema.items():
        if key not in cfg:
            continue
        value = getattr(args, key)
        problem = value_problem(value, entry)
        if problem:
            source = "command line" if key in given else config_path
            parser.error(f"key '{key}' = {value!r} ({source}): {problem}")
    for problem in _meaning_problems(args):
        parser.error(problem)
    return Config(vars(args))


def _meaning_problems(args):
    """What is wrong with values that pass their own range but not their meaning together or in use."""
    if getattr(args, "lr_end", 0) > getattr(args, "lr_max", float("inf")):
        yield (f"lr_end {args.lr_end} is above lr_max {args.lr_max}: the schedule would rise to lr_end; lower "
               "--lr_end or raise --lr_max")
    if getattr(args, "auto_augment", ""):
        from src.augment.policies import POLICY_FORMS, PolicyError, build_policy  # loads MindSpore's vision ops
        try:
            build_policy(args.auto_augment)
        except PolicyError as err:
            yield f"key 'auto_augment': {err}; use {POLICY_FORMS}, or \"\" for none"
