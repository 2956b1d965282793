"""A checkpoint that knows how it was trained: eval.py, export.py and predict.py with no flags reproduce the run's own
results; a contradicting flag is one line; checkpoints that record nothing (official ones) load as before."""
import json
import os
import re
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from src.model_settings import SETTINGS_ENTRY, read_settings
from tests.conftest import TINY_MODEL, run_entry_point

# width, stem stride, image size and data set all off the default YAML's (width 1.0, stride 2, 224, cifar10)
TRAINED_WITH = ["--dataset", "fashion_mnist", "--width_multiplier", "0.35", "--stem_stride", "1", "--image_size", "28",
                "--conv_padding", "symmetric"]
RESULT = re.compile(r"result: \{'top_5_accuracy': ([0-9.]+), 'top_1_accuracy': ([0-9.]+)\}")


@pytest.fixture(scope="module")
def run(tmp_path_factory, cifar_dirs):
    """One epoch of 64 images, validated on 64 evaluation images -> (folder, validation top-1)."""
    out = tmp_path_factory.mktemp("settings_run")
    proc = run_entry_point("train.py", "--device_target", "CPU", *TRAINED_WITH, "--dataset_path", cifar_dirs[0],
                           "--epoch_size", "1", "--num_samples", "64", "--batch_size", "16", "--eval_interval", "1",
                           "--eval_dataset_path", cifar_dirs[1], "--save_checkpoint_path", out, cwd=out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / "metrics.jsonl", encoding="utf-8") as f:
        (validation,) = [r for r in map(json.loads, f) if r["type"] == "eval"]
    return out, validation["top_1_accuracy"]


def test_every_checkpoint_records_the_settings(run):
    out, _ = run
    for name in ("mobilenetv1-1_4.ckpt", "mobilenetv1-best.ckpt"):
        settings = read_settings(str(out / name))
        assert settings["width_multiplier"] == 0.35 and settings["stem_stride"] == 1 and settings["image_size"] == 28
        assert settings["dataset"] == "fashion_mnist" and settings["conv_padding"] == "symmetric"


def test_eval_without_flags_reproduces_the_validation(run, cifar_dirs):
    out, top1 = run
    proc = run_entry_point("eval.py", "--device_target", "CPU", "--dataset_path", cifar_dirs[1], "--checkpoint_path",
                           out / "mobilenetv1-1_4.ckpt", "--num_samples", "64", cwd=out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(RESULT.search(proc.stdout)[2]) == pytest.approx(top1, abs=1e-6)
    assert ("settings: class_num 10 (checkpoint), width_multiplier 0.35 (checkpoint), stem_stride 1 (checkpoint), "
            "conv_padding symmetric (checkpoint)") in proc.stderr
    assert "dataset fashion_mnist (checkpoint), image_size 28 (checkpoint)" in proc.stderr


@pytest.mark.parametrize("flag, value, trained", [("--stem_stride", "2", "1"), ("--activation", "relu", "relu6"),
                                                  ("--dataset", "cifar10", "fashion_mnist")])
def test_a_contradicting_flag_is_one_line(run, cifar_dirs, flag, value, trained):
    out, _ = run
    ckpt = out / "mobilenetv1-1_4.ckpt"
    proc = run_entry_point("eval.py", "--device_target", "CPU", "--dataset_path", cifar_dirs[1], "--checkpoint_path",
                           ckpt, flag, value, cwd=out)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert f"error: {flag} {value} contradicts {ckpt}, trained with {flag[2:]} {trained}" in proc.stderr


def test_another_image_size_is_an_error_on_stored_images_and_a_warning_on_photos(run, cifar_dirs, tmp_path):
    out, _ = run
    ckpt = out / "mobilenetv1-1_4.ckpt"
    proc = run_entry_point("eval.py", "--device_target", "CPU", "--dataset_path", cifar_dirs[1], "--checkpoint_path",
                           ckpt, "--image_size", "32", cwd=out)
    assert proc.returncode == 1
    assert f"error: --image_size 32 contradicts {ckpt}, trained with image_size 28" in proc.stderr
    import mindspore as ms
    from mindspore import nn
    from src.model_settings import apply_checkpoint_settings, settings_entry
    from src.model_utils.config import get_config
    photos = str(tmp_path / "photos.ckpt")
    recorded = settings_entry({"dataset": "imagenet2012", "image_size": 224})
    ms.save_checkpoint(nn.Dense(2, 2), photos, append_dict=recorded)
    argv = ["--dataset", "imagenet2012", "--image_size", "256"]
    config = get_config(argv)
    warnings = []
    from src import model_settings
    logger, model_settings.logger = model_settings.logger, SimpleNamespace(warning=lambda *a: warnings.append(a))
    try:
        sources = apply_checkpoint_settings(config, photos, argv, log=lambda line: None)
    finally:
        model_settings.logger = logger
    assert config.image_size == 256 and sources["image_size"] == "flag" and "was trained at" in warnings[0][0]


def test_export_and_predict_without_flags_use_the_trained_settings(run, cifar_dirs, tmp_path):
    out, _ = run
    ckpt = out / "mobilenetv1-1_4.ckpt"
    proc = run_entry_point("export.py", "--device_target", "CPU", "--ckpt_file", ckpt, "--file_name", tmp_path / "m",
                           "--file_format", "ONNX", "--batch_size", "1", "--verify", "True", cwd=tmp_path)
    assert proc.returncode == 0 and "verified:" in proc.stdout, proc.stderr[-3000:]
    import onnxruntime
    assert onnxruntime.InferenceSession(str(tmp_path / "m.onnx")).get_inputs()[0].shape == [1, 3, 28, 28]
    grey = np.fromfile(os.path.join(cifar_dirs[1], "test_batch.bin"), np.uint8, count=3073)[1:1025].reshape(32, 32)
    Image.fromarray(grey[2:30, 2:30]).save(tmp_path / "image.png")
    outputs = []
    for flags in ([], TRAINED_WITH):
        proc = run_entry_point("predict.py", "--device_target", "CPU", "--model_path", ckpt, "--image_path",
                               tmp_path / "image.png", *flags, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1] and "  1. " in outputs[0]


def test_a_checkpoint_without_settings_loads_as_the_flags_say(trained, cifar_dirs):
    out, _ = trained
    ckpt = out / "mobilenetv1-2_3.ckpt"
    import mindspore as ms
    if SETTINGS_ENTRY in ms.load_checkpoint(str(ckpt)):  # strip them: what an official checkpoint holds
        params = [{"name": k, "data": v} for k, v in ms.load_checkpoint(str(ckpt)).items() if k != SETTINGS_ENTRY]
        ckpt = out / "official.ckpt"
        ms.save_checkpoint(params, str(ckpt))
    assert read_settings(str(ckpt)) is None
    proc = run_entry_point("eval.py", "--dataset_path", cifar_dirs[1], *TINY_MODEL, "--checkpoint_path", ckpt,
                           "--num_samples", "64", cwd=out)
    assert proc.returncode == 0 and RESULT.search(proc.stdout), proc.stderr[-3000:]
    assert "settings (the checkpoint records none: an official or older one): class_num 10 (YAML" in proc.stderr
    assert "width_multiplier 0.25 (flag)" in proc.stderr


@pytest.mark.parametrize("key, value, message", [
    ("activation", "gelu", r"activation 'gelu' \(key 'activation' = 'gelu': must be one of"),
    ("image_size", "abc", r"image_size 'abc' \(key 'image_size': expected int, got 'abc'\)"),
    ("width_multiplier", -1.0, r"width_multiplier -1.0 \(key 'width_multiplier' = -1.0: must be in"),
    ("colour", "blue", r"colour 'blue' \(unknown key\)")])
def test_a_damaged_settings_entry_is_one_line_naming_the_file_and_the_key(tmp_path, trained, cifar_dirs, key, value,
                                                                         message):
    import mindspore as ms
    from src.model_settings import settings_entry
    folder, _ = trained
    source = os.path.join(folder, "mobilenetv1-2_3.ckpt")
    params = ms.load_checkpoint(source)
    settings = {**read_settings(source), key: value}
    weights = [{"name": name, "data": p} for name, p in params.items() if isinstance(p, ms.Parameter)]
    edited = str(tmp_path / "edited.ckpt")
    ms.save_checkpoint(weights, edited, append_dict=settings_entry(settings))
    proc = run_entry_point("eval.py", "--dataset_path", cifar_dirs[1], "--checkpoint_path", edited, cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and re.search(rf"{re.escape(edited)}: its mobilenetv1_settings entry holds {message}",
                                          errors[0]), proc.stderr[-2000:]
