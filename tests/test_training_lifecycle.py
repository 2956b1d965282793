"""Training a user can trust: exact resume, interruption, divergence, validation, records, bad output folders."""
import json
import os
import re

import numpy as np
import pytest
import mindspore as ms

from src.checkpoint import save_checkpoint_atomically
from src.training.run_state import list_epoch_checkpoints
from src.mobilenet_v1 import MobileNetV1
from tests.conftest import run_entry_point

# 64 images, batch 16: 4 steps per epoch
TINY = ["--device_target", "CPU", "--width_multiplier", "0.25", "--image_size", "32", "--num_samples", "64",
        "--batch_size", "16", "--log_interval", "1", "--save_checkpoint_epochs", "1", "--lr_decay_mode",
        "cosine_warmup", "--warmup_epochs", "0.5", "--lr_max", "0.05"]


def step_losses(folder):
    with open(os.path.join(folder, "metrics.jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    return {r["global_step"]: r["loss"] for r in records if r["type"] == "step"}


def train(folder, cifar_dirs, *extra):
    return run_entry_point("train.py", "--dataset_path", cifar_dirs[0], *TINY, "--save_checkpoint_path", folder,
                           *extra, cwd=folder)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, cifar_dirs):
    folder = str(tmp_path_factory.mktemp("full"))
    proc = train(folder, cifar_dirs, "--epoch_size", "3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder, step_losses(folder)


def test_resumed_run_repeats_the_uninterrupted_losses(tmp_path, cifar_dirs, uninterrupted):
    folder, losses = uninterrupted
    assert sorted(losses) == list(range(1, 13))
    resumed = str(tmp_path)
    proc = train(resumed, cifar_dirs, "--epoch_size", "3", "--resume", os.path.join(folder, "mobilenetv1-1_4.ckpt"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming from" in proc.stderr and "at epoch 2, step 1" in proc.stderr
    again = step_losses(resumed)
    assert sorted(again) == list(range(5, 13))
    for step in range(5, 13):
        assert again[step] == losses[step], (step, again[step], losses[step])
    final = ms.load_checkpoint(os.path.join(resumed, "mobilenetv1-3_4.ckpt"))
    reference = ms.load_checkpoint(os.path.join(folder, "mobilenetv1-3_4.ckpt"))
    assert int(final["global_step"].asnumpy()[0]) == 12
    np.testing.assert_array_equal(final["fc.weight"].asnumpy(), reference["fc.weight"].asnumpy())


def test_records_curves_and_official_lines(uninterrupted):
    folder, _ = uninterrupted
    with open(os.path.join(folder, "metrics.jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    epochs = [r for r in records if r["type"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2, 3] and all(r["mean_loss"] > 0 for r in epochs)
    steps = [r for r in records if r["type"] == "step"]
    assert steps[0]["lr"] < steps[1]["lr"] and steps[-1]["lr"] == pytest.approx(1e-5)  # lr_end of the CIFAR-10 YAML
    assert os.path.getsize(os.path.join(folder, "curves.png")) > 10000
    assert [os.path.basename(p) for _, p in list_epoch_checkpoints(folder)] == [
        "mobilenetv1-1_4.ckpt", "mobilenetv1-2_4.ckpt", "mobilenetv1-3_4.ckpt"]


def test_ctrl_c_saves_state_and_resume_auto_finishes(tmp_path, cifar_dirs, uninterrupted):
    """Ctrl-C at global step 6 (epoch 2, step 2; sent by the child itself, so the step is exact)."""
    _, losses = uninterrupted
    folder = str(tmp_path)
    proc = run_entry_point("tests/signal_train.py", "SIGINT", "6", "--dataset_path", cifar_dirs[0], *TINY,
                           "--save_checkpoint_path", folder, "--epoch_size", "3", cwd=folder, timeout=300)
    assert proc.returncode == 130, proc.stderr[-3000:]
    assert "stop requested (Ctrl-C or SIGTERM): stopping after this step" in proc.stderr
    assert "state saved to" in proc.stderr
    assert "Traceback" not in proc.stderr
    saved = [os.path.basename(p) for _, p in list_epoch_checkpoints(folder)]
    assert saved == ["mobilenetv1-1_4.ckpt", "mobilenetv1-2_2.ckpt"]
    state = ms.load_checkpoint(os.path.join(folder, "mobilenetv1-2_2.ckpt"))
    assert int(state["global_step"].asnumpy()[0]) == 6 and int(state["step_num"].asnumpy()) == 2
    done = train(folder, cifar_dirs, "--epoch_size", "3", "--resume", "auto")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "at epoch 2, step 3" in done.stderr
    assert os.path.exists(os.path.join(folder, "mobilenetv1-3_4.ckpt"))
    assert step_losses(folder) == losses  # steps 1-6 before the stop, 7-12 after: the uninterrupted run's


# every recipe tool at once: the draws, the mixing switch-off after epoch 2, EMA and accumulation must all resume
RECIPE = ["--mixup", "0.4", "--cutmix", "1.0", "--cutmix_prob", "0.8", "--mixup_off_epoch", "2", "--auto_augment",
          "randaug-m9-mstd0.5", "--re_prob", "0.5", "--re_mode", "pixel", "--cutout_length", "8",
          "--use_label_smooth", "True", "--ema", "True", "--ema_decay", "0.9", "--gradient_accumulation_steps", "2"]


def test_run_with_every_recipe_tool_resumes_after_sigkill_with_the_same_losses(tmp_path, cifar_dirs):
    """Killed by SIGKILL at step 10 (mid-epoch 3, after the epoch-2 checkpoint), resumed with --resume auto: the
    steps after the checkpoint repeat the uninterrupted run's losses, the unmixed epoch 3 included."""
    reference = str(tmp_path / "reference")
    os.makedirs(reference)
    done = train(reference, cifar_dirs, "--epoch_size", "3", *RECIPE)
    assert done.returncode == 0, done.stderr[-3000:]
    losses = step_losses(reference)
    assert sorted(losses) == list(range(1, 13)) and all(np.isfinite(list(losses.values())))
    folder = str(tmp_path / "killed")
    os.makedirs(folder)
    killed = run_entry_point("tests/signal_train.py", "SIGKILL", "10", "--dataset_path", cifar_dirs[0], *TINY,
                             "--save_checkpoint_path", folder, "--epoch_size", "3", *RECIPE, cwd=folder)
    assert killed.returncode == -9
    assert [os.path.basename(p) for _, p in list_epoch_checkpoints(folder)][-1] == "mobilenetv1-2_4.ckpt"
    resumed = train(folder, cifar_dirs, "--epoch_size", "3", "--resume", "auto", *RECIPE)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "at epoch 3, step 1" in resumed.stderr
    again = step_losses(folder)
    for step in range(9, 13):
        assert again[step] == losses[step], (step, again[step], losses[step])
    final = ms.load_checkpoint(os.path.join(folder, "mobilenetv1-3_4.ckpt"))
    reference_final = ms.load_checkpoint(os.path.join(reference, "mobilenetv1-3_4.ckpt"))
    for name in ("fc.weight", "ema.fc.weight"):
        np.testing.assert_array_equal(final[name].asnumpy(), reference_final[name].asnumpy())


def test_recipe_tools_train_on_the_imagenet_layout(tmp_path, imagenet_root):
    folder = str(tmp_path)
    proc = run_entry_point("train.py", "--dataset", "imagenet2012", "--dataset_path", imagenet_root, "--class_num",
                           "4", "--device_target", "CPU", "--width_multiplier", "0.25", "--image_size", "32",
                           "--num_samples", "16", "--batch_size", "8", "--log_interval", "1", "--epoch_size", "2",
                           "--save_checkpoint_path", folder, *RECIPE, cwd=folder)
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses = step_losses(folder)
    assert sorted(losses) == [1, 2, 3, 4] and all(np.isfinite(list(losses.values())))


def test_validation_while_training_keeps_best_and_writes_summary(tmp_path, cifar_dirs):
    folder = str(tmp_path)
    proc = train(folder, cifar_dirs, "--epoch_size", "2", "--eval_interval", "1", "--eval_dataset_path",
                 cifar_dirs[1], "--enable_summary", "True")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(os.path.join(folder, "metrics.jsonl"), encoding="utf-8") as f:
        evals = [json.loads(line) for line in f if '"eval"' in line]
    assert [e["epoch"] for e in evals] == [1, 2]
    assert all(0 <= e["top_1_accuracy"] <= e["top_5_accuracy"] <= 1 for e in evals)
    assert "validation: top-1" in proc.stderr
    best = ms.load_checkpoint(os.path.join(folder, "mobilenetv1-best.ckpt"))
    best_epoch = max(evals, key=lambda e: e["top_1_accuracy"])["epoch"]
    assert int(best["epoch_num"].asnumpy()) == best_epoch
    summaries = os.listdir(os.path.join(folder, "summary"))
    assert any(".summary." in name for name in summaries)
    assert os.path.getsize(os.path.join(folder, "summary", summaries[0])) > 0


def test_divergence_stops_and_keeps_last_good_checkpoint(tmp_path, cifar_dirs, uninterrupted):
    folder, _ = uninterrupted
    run_dir = str(tmp_path)
    good = os.path.join(folder, "mobilenetv1-1_4.ckpt")
    proc = train(run_dir, cifar_dirs, "--epoch_size", "3", "--resume", good, "--lr_max", "1e30",
                 "--lr_init", "1e30")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "loss became nan" in proc.stderr.lower() or "loss became inf" in proc.stderr.lower()
    assert f"the last good checkpoint is {good}" in proc.stderr
    assert list_epoch_checkpoints(run_dir) == []  # nothing written after divergence


@pytest.mark.parametrize("args,message", [
    (["--save_checkpoint_path", "/etc/hostname/run"], "output folder /etc/hostname/run is not writable"),
    (["--resume", "/no/such.ckpt"], "--resume: checkpoint not found: /no/such.ckpt"),
    (["--eval_interval", "1"], "eval_interval > 0 needs --eval_dataset_path"),
])
def test_bad_output_or_resume_reported_before_compute(tmp_path, cifar_dirs, args, message):
    proc = run_entry_point("train.py", "--dataset_path", cifar_dirs[0], *TINY, "--save_checkpoint_path",
                           tmp_path, *args, cwd=tmp_path)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert "loss is" not in proc.stdout


def test_corrupt_resume_checkpoint_named(tmp_path, cifar_dirs):
    bad = tmp_path / "mobilenetv1-1_4.ckpt"
    bad.write_bytes(b"\x00" * 100)
    proc = train(str(tmp_path), cifar_dirs, "--epoch_size", "2", "--resume", "auto")
    assert proc.returncode == 1 and f"cannot read checkpoint {bad}" in proc.stderr


def test_atomic_save_leaves_old_file_when_writing_fails(tmp_path, monkeypatch):
    net = MobileNetV1(class_num=10, width_multiplier=0.25)
    path = str(tmp_path / "mobilenetv1-1_4.ckpt")
    save_checkpoint_atomically(net, path)
    before = open(path, "rb").read()

    def crash(_cell, name, **_kwargs):
        with open(name, "wb") as f:
            f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(ms, "save_checkpoint", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint_atomically(net, path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["mobilenetv1-1_4.ckpt"]
    (tmp_path / ".mobilenetv1-9_4.ckpt.partial-1.ckpt").write_bytes(b"x")
    assert [p for _, p in list_epoch_checkpoints(str(tmp_path))] == [path]


def test_fine_tuning_from_other_class_count_through_train_py(tmp_path, cifar_dirs):
    source = str(tmp_path / "imagenet_like.ckpt")
    ms.save_checkpoint(MobileNetV1(class_num=1001, width_multiplier=0.25), source)
    proc = train(str(tmp_path), cifar_dirs, "--epoch_size", "1", "--pre_trained", source)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "classifier is re-initialised" in proc.stderr


def _recorded(path):
    from src.model_settings import read_settings
    return read_settings(path)


def test_resume_goes_on_with_the_settings_the_run_started_with(tmp_path, cifar_dirs):
    """A run started with --activation relu, resumed without the flag, goes on with relu (the YAML says relu6);
    resumed with a contradicting flag, it stops in one line naming the key."""
    folder = str(tmp_path)
    assert train(folder, cifar_dirs, "--epoch_size", "1", "--activation", "relu").returncode == 0
    proc = train(folder, cifar_dirs, "--epoch_size", "2", "--resume", "auto")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _recorded(os.path.join(folder, "mobilenetv1-2_4.ckpt"))["activation"] == "relu"
    proc = train(folder, cifar_dirs, "--epoch_size", "3", "--resume", "auto", "--activation", "relu6")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert re.search(r"^error: --activation relu6 contradicts \S+mobilenetv1-2_4.ckpt, whose run was started "
                     r"with activation relu", proc.stderr, re.M), proc.stderr[-2000:]


def test_a_new_run_into_another_runs_folder_is_refused_and_nothing_is_touched(tmp_path, cifar_dirs):
    folder = str(tmp_path)
    assert train(folder, cifar_dirs, "--epoch_size", "2").returncode == 0
    before = {name: os.path.getmtime(os.path.join(folder, name)) for name in os.listdir(folder)}
    proc = train(folder, cifar_dirs, "--epoch_size", "1")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "holds the checkpoints of another run (mobilenetv1-1_4.ckpt, mobilenetv1-2_4.ckpt)" \
        in errors[0] and "--resume auto" in errors[0] and "new --save_checkpoint_path" in errors[0]
    assert {name: os.path.getmtime(os.path.join(folder, name)) for name in os.listdir(folder)} == before
