"""Config loading: the YAMLs and their schema, flag typing, dataset-based selection and every error path."""
import os

import pytest

from src.deploy.exporter import export_input_shape
from src.model_utils.config import REMOVED_KEYS, ROOT_DIR, Config, get_config, load_schema, read_values
from src.model_utils.value_checks import Interval, value_problem
from tests.conftest import run_entry_point

YAMLS = ("default_config.yaml", "default_config_imagenet.yaml", "default_config_gpu_imagenet.yaml")
SHIPPED = YAMLS + ("default_config_fashion_mnist.yaml", "default_config_fashion_mnist_full.yaml")

# Official values (anchors.md 1.1): key -> (CIFAR-10, Ascend ImageNet, GPU ImageNet)
OFFICIAL = {
    "enable_modelarts": (False, False, False), "data_path": ("/cache/data",) * 3,
    "output_path": ("/cache/train",) * 3, "load_path": ("/cache/checkpoint_path",) * 3,
    "device_target": ("Ascend", "Ascend", "GPU"), "enable_profiling": (False,) * 3,
    "class_num": (10, 1001, 1001), "batch_size": (32, 256, 256), "loss_scale": (1024,) * 3,
    "momentum": (0.9,) * 3, "weight_decay": (0.0001,) * 3, "epoch_size": (90,) * 3,
    "pretrain_epoch_size": (0,) * 3, "save_checkpoint": (True,) * 3, "save_checkpoint_epochs": (5,) * 3,
    "keep_checkpoint_max": (10,) * 3, "save_checkpoint_path": ("./",) * 3, "warmup_epochs": (5, 0, 0),
    "lr_decay_mode": ("poly", "linear", "linear"), "lr_init": (0.01, 0, 0), "lr_end": (0.00001, 0, 0),
    "lr_max": (0.1, 0.8, 0.8), "dataset": ("cifar10", "imagenet2012", "imagenet2012"),
    "run_distribute": (False,) * 3, "device_num": (1, 1, 4), "dataset_path": ("/cache/data",) * 3,
    "pre_trained": ("",) * 3, "parameter_server": (False,) * 3,
    "checkpoint_path": ("./mobilenetv1-90_625.ckpt", "./mobilenetv1-90_625.ckpt",
                        "./ckpt_0/mobilenetv1-90_1251.ckpt"),
    "device_id": (0,) * 3, "ckpt_file": ("/cache/data/mobilenetv1-90_625.ckpt",) * 3,
    "file_name": ("mobilenetv1",) * 3,
    "file_format": ("MINDIR",) * 3, "result_dir": ("",) * 3, "label_dir": ("",) * 3,
    "result_path": ("./preprocess_Result/",) * 3,
    "data_url": ("",) * 3, "train_url": ("",) * 3, "checkpoint_url": ("",) * 3,
}
IMAGENET_ONLY = {"use_label_smooth": True, "label_smooth_factor": 0.1,
                 "need_modelarts_dataset_unzip": True, "modelarts_dataset_unzip_name": "ImageNet_Original"}


@pytest.mark.parametrize("index,name", list(enumerate(YAMLS)))
def test_yaml_carries_official_values(index, name):
    values = read_values(os.path.join(ROOT_DIR, name))
    for key, expected in OFFICIAL.items():
        assert values[key] == expected[index], (name, key)
    if index > 0:
        for key, expected in IMAGENET_ONLY.items():
            assert values[key] == expected, (name, key)
    # the official 224x224 export, now written as "image_size" (224 in these YAMLs)
    assert (values["width"], values["height"], values["image_size"]) == (0, 0, 224)


def test_schema_has_the_official_choices():
    schema = load_schema()
    assert schema["device_target"]["choices"] == ["Ascend", "GPU", "CPU"]
    assert schema["file_format"]["choices"] == ["AIR", "ONNX", "MINDIR"]
    assert schema["dataset"]["choices"] == ["cifar10", "imagenet2012", "fashion_mnist"]


def test_all_yamls_have_the_same_keys():
    key_sets = [set(read_values(os.path.join(ROOT_DIR, name))) for name in YAMLS]
    assert key_sets[0] == key_sets[1] == key_sets[2]
    assert set(read_values(os.path.join(ROOT_DIR, "default_config_fashion_mnist.yaml"))) == key_sets[0]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_key_has_help_in_the_schema(name):
    schema = load_schema()
    values = read_values(os.path.join(ROOT_DIR, name))
    assert set(values) <= set(schema), f"keys without help in config_schema.yaml: {set(values) - set(schema)}"
    assert all(isinstance(schema[key]["help"], str) and schema[key]["help"] for key in values), name
    for key, entry in schema.items():
        assert set(entry) <= {"help", "choices", "range", "length", "ordered"}, key
        if "choices" in entry and key in values:
            assert values[key] in entry["choices"], (name, key)


@pytest.mark.parametrize("name", ["default_config.yaml", "default_config_fashion_mnist.yaml"])
def test_no_schema_key_is_missing_from_the_defaults(name):
    missing = set(load_schema()) - set(read_values(os.path.join(ROOT_DIR, name)))
    assert not missing, f"config_schema.yaml keys no default YAML sets: {missing}"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_yamls_hold_only_values(name):
    with open(os.path.join(ROOT_DIR, name), encoding="utf-8") as f:
        assert "\n---" not in f.read(), f"{name}: help and choices belong in config_schema.yaml"


def test_help_lists_the_choices(capsys):
    with pytest.raises(SystemExit):
        get_config(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--file_format FILE_FORMAT export.py: export format (AIR needs an Ascend device) (one of" in out
    assert "0 = image_size" in out


def test_default_is_cifar10_and_flags_override_with_types():
    config = get_config(["--lr_max", "0.5", "--batch_size", "8", "--run_distribute", "true",
                         "--device_target=CPU", "--pre_trained", "x.ckpt"])
    assert config.class_num == 10 and config.dataset == "cifar10"
    assert config.lr_max == 0.5 and config.batch_size == 8 and config.run_distribute is True
    assert config.device_target == "CPU" and config.pre_trained == "x.ckpt"
    assert config.config_path.endswith("default_config.yaml")


def test_dataset_flag_selects_imagenet_yaml():
    config = get_config(["--dataset", "imagenet2012", "--device_target", "CPU", "--lr_init", "0.1"])
    assert config.config_path.endswith("default_config_imagenet.yaml")
    assert config.class_num == 1001 and config.use_label_smooth is True and config.lr_init == 0.1


def test_gpu_imagenet_yaml_selected_by_device():
    config = get_config(["--dataset", "imagenet2012", "--device_target", "GPU"])
    assert config.config_path.endswith("default_config_gpu_imagenet.yaml")
    assert config.device_num == 4


def test_fashion_mnist_yaml_selected_by_dataset():
    config = get_config(["--dataset", "fashion_mnist", "--warmup_epochs", "0.5"])
    assert config.config_path.endswith("default_config_fashion_mnist.yaml")
    assert config.class_num == 10 and config.device_target == "CPU" and config.warmup_epochs == 0.5


def test_explicit_config_path_wins(tmp_path):
    config = get_config(["--config_path", os.path.join(ROOT_DIR, "default_config_imagenet.yaml")])
    assert config.dataset == "imagenet2012" and config.batch_size == 256


@pytest.mark.parametrize("argv,message", [
    (["--no_such_key", "1"], "--no_such_key: unknown flag; see --help for the known flags"),
    (["--dateset", "imagenet2012"], "--dateset: unknown flag; did you mean --dataset?"),
    (["--lr_max=0.1", "--epochsize", "3"], "--epochsize: unknown flag; did you mean --epoch_size?"),
    (["--batch_size", "8", "extra"], "unexpected argument 'extra'"),
    (["--checkpoint", "x"], "--checkpoint: unknown flag; did you mean --checkpoint_url, --save_checkpoint or "
                            "--checkpoint_path?"),
    (["--batch_size", "3.5"], "argument --batch_size: expected an integer"),
    (["--lr_max", "fast"], "argument --lr_max: expected a number"),
    (["--save_checkpoint", "maybe"], "argument --save_checkpoint: expected a boolean"),
    (["--device_target", "TPU"], "argument --device_target: invalid choice: 'TPU'"),
    (["--lr_decay_mode", "exp"], "argument --lr_decay_mode: invalid choice"),
    (["--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["--config_path", "/no/such.yaml"], "config file not found: /no/such.yaml"),
])
def test_config_errors_exit_2_naming_the_key(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        get_config(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def _write_yaml(path, text):
    path.write_text(text)
    return str(path)


def test_user_yaml_unknown_key_is_an_error(tmp_path, capsys):
    path = _write_yaml(tmp_path / "c.yaml", "dataset: cifar10\nlr_maxx: 0.1\n")
    with pytest.raises(SystemExit) as exc:
        get_config(["--config_path", path])
    assert exc.value.code == 2 and "unknown key(s) ['lr_maxx']" in capsys.readouterr().err


def test_user_yaml_wrong_type_is_an_error(tmp_path, capsys):
    path = _write_yaml(tmp_path / "c.yaml", "dataset: cifar10\nbatch_size: many\n")
    with pytest.raises(SystemExit) as exc:
        get_config(["--config_path", path])
    assert exc.value.code == 2 and "key 'batch_size': expected int, got 'many'" in capsys.readouterr().err


def test_user_yaml_value_outside_choices_is_an_error(tmp_path, capsys):
    path = _write_yaml(tmp_path / "c.yaml", "dataset: cifar10\ndevice_target: TPU\n")
    with pytest.raises(SystemExit) as exc:
        get_config(["--config_path", path])
    assert exc.value.code == 2 and f"key 'device_target' = 'TPU' ({path}): must be one of" in capsys.readouterr().err


def test_user_yaml_missing_keys_take_dataset_defaults(tmp_path):
    # an official-style ImageNet YAML without this repository's new keys, lr_init written as int
    path = _write_yaml(tmp_path / "c.yaml", "dataset: imagenet2012\nlr_init: 0\nbatch_size: 64\n---\n"
                                            "batch_size: per-device batch\n---\n")
    config = get_config(["--config_path", path, "--lr_init", "0.05"])
    assert config.batch_size == 64 and config.class_num == 1001 and config.image_size == 224
    assert config.lr_init == 0.05


def test_official_three_document_yaml_loads(tmp_path):
    """Values, help, choices: the values count, the other two documents are ignored (the schema rules)."""
    path = _write_yaml(tmp_path / "c.yaml", "dataset: cifar10\nbatch_size: 64\ndevice_target: CPU\n---\n"
                                            "batch_size: \"Batch size\"\ndevice_target: \"Device\"\n---\n"
                                            "device_target: ['Ascend', 'GPU', 'CPU', 'TPU']\n")
    config = get_config(["--config_path", path])
    assert config.batch_size == 64 and config.device_target == "CPU" and config.class_num == 10
    with pytest.raises(SystemExit):
        get_config(["--config_path", path, "--device_target", "TPU"])


@pytest.mark.parametrize("key", sorted(REMOVED_KEYS))
def test_removed_key_in_yaml_is_ignored_with_a_warning(key, tmp_path, capsys):
    """An official YAML copied as it is still loads; one line says what replaces the key."""
    path = _write_yaml(tmp_path / "c.yaml", f"dataset: cifar10\n{key}: x\n")
    config = get_config(["--config_path", path])
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"warning: {path}: {key} was removed: {REMOVED_KEYS[key]}; its value is ignored"]
    assert not hasattr(config, key)


@pytest.mark.parametrize("argv,message", [
    (["--checkpoint_file", "x.ckpt"], "checkpoint_file was removed: use --checkpoint_path (eval.py) or --ckpt_file"),
    (["--dataset_name=cifar10"], "dataset_name was removed: use --dataset"),
])
def test_removed_key_as_flag_is_a_one_line_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        get_config(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and message in err[-1], err


@pytest.mark.parametrize("flags,shape", [
    ([], [32, 3, 224, 224]),
    (["--image_size", "32", "--batch_size", "1"], [1, 3, 32, 32]),
    (["--image_size", "32", "--width", "40"], [32, 3, 32, 40]),
    (["--height", "48"], [32, 3, 48, 224]),
])
def test_export_size_defaults_to_image_size(flags, shape):
    assert export_input_shape(get_config(flags)) == shape
    assert export_input_shape(Config({"batch_size": 2, "image_size": 64, "width": 0, "height": 0})) == [2, 3, 64, 64]


def test_fashion_mnist_exports_at_32():
    assert export_input_shape(get_config(["--dataset", "fashion_mnist"])) == [128, 3, 32, 32]


def test_not_a_yaml_mapping_is_an_error(tmp_path, capsys):
    path = _write_yaml(tmp_path / "c.yaml", "- just\n- a list\n")
    with pytest.raises(SystemExit) as exc:
        get_config(["--config_path", path])
    assert exc.value.code == 2 and "must hold 1 to 3 YAML mappings" in capsys.readouterr().err


# ---- every numeric value checked against the range config_schema.yaml declares for it

ENTRY_POINTS = ("train.py", "eval.py", "export.py", "predict.py", "preprocess.py", "postprocess.py")


def _numeric(value):
    if isinstance(value, list):
        return bool(value) and all(_numeric(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric_defaults():
    """{key: default} of every numeric key of every shipped YAML."""
    keys = {}
    for name in SHIPPED:
        keys.update({k: v for k, v in read_values(os.path.join(ROOT_DIR, name)).items() if _numeric(v)})
    return keys


def test_every_numeric_key_has_a_range_or_choices():
    schema = load_schema()
    numeric = _numeric_defaults()
    assert len(numeric) >= 40
    missing = sorted(k for k in numeric if "range" not in schema[k] and "choices" not in schema[k])
    assert not missing, f"numeric keys without a range in config_schema.yaml: {missing}"
    lists = sorted(k for k, v in numeric.items() if isinstance(v, list))
    assert all("length" in schema[k] for k in lists), lists


def _outside(entry, default):
    """A value of the key's type that its schema entry does not allow."""
    if "choices" in entry:
        return max(entry["choices"]) + 1
    interval = Interval(entry["range"])
    whole = isinstance(default, int) or isinstance(default, list) and isinstance(default[0], int)
    if interval.low != float("-inf"):
        bad = interval.low - (0 if not interval.low_closed else 1 if whole else 0.5)
    elif interval.high != float("inf"):
        bad = interval.high + (0 if not interval.high_closed else 1 if whole else 0.5)
    else:
        bad = float("nan")
    bad = int(bad) if whole else bad
    return [bad] * len(default) if isinstance(default, list) else bad


def _cases():
    schema, cases = load_schema(), []
    for index, (key, default) in enumerate(sorted(_numeric_defaults().items())):
        cases.append((ENTRY_POINTS[index % len(ENTRY_POINTS)], key, _outside(schema[key], default)))
    return cases


@pytest.mark.parametrize("script,key,value", _cases())
def test_an_out_of_range_value_is_one_line_exit_2(script, key, value, tmp_path):
    flag = f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)
    proc = run_entry_point(script, f"--{key}", flag, cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{script}: error: ") and "Traceback" not in proc.stderr
    assert f"key '{key}' = {value!r} (command line): must be" in lines[0] or (
        f"argument --{key}: invalid choice: {value!r}" in lines[0])


def test_a_yaml_value_out_of_range_names_the_file(tmp_path, capsys):
    path = _write_yaml(tmp_path / "c.yaml", "dataset: cifar10\nema_decay: 1.0\n")
    with pytest.raises(SystemExit) as exc:
        get_config(["--config_path", path])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().endswith(f": error: key 'ema_decay' = 1.0 ({path}): must be in (0, 1)")


@pytest.mark.parametrize("text,inside,outside", [
    ("[0, 1)", [0, 0.5, 0.999], [1, -0.1, float("nan"), True]),
    ("(0, inf)", [1e-9, 1e9], [0, -1]),
    ("[2, inf)", [2, 1000], [1, 1.999]),
    ("(-inf, inf)", [-1e30, 0, 1e30], [float("nan"), "1"]),
])
def test_interval_bounds(text, inside, outside):
    interval = Interval(text)
    assert all(v in interval for v in inside) and not any(v in interval for v in outside)


def test_list_values_are_checked_for_length_range_and_order():
    entry = {"range": "(0, 1]", "length": 2, "ordered": True}
    assert value_problem([0.1, 0.3], entry) is None
    assert "list of 2" in value_problem([0.1], entry)
    assert "in (0, 1]" in value_problem([0.0, 0.3], entry)
    assert "increasing order" in value_problem([0.3, 0.1], entry)


@pytest.mark.parametrize("args, message", [
    (["--lr_end", "0.5", "--lr_max", "0.01"], "lr_end 0.5 is above lr_max 0.01"),
    (["--auto_augment", "randaug-m9-n14-w0"], "drawn without replacement from the 13 of non-zero weight"),
    (["--auto_augment", "randaug-m20-mmax20"], "Solarize at magnitude 20 fails"),
    (["--auto_augment", "trivialaugwide-m50"], "m must be 1 to 31")])
def test_values_whose_meaning_fails_are_refused_when_the_config_is_read(args, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        get_config(args)
    assert stopped.value.code == 2 and message in capsys.readouterr().err
