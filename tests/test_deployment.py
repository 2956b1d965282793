"""Deployment: the C++ harness built and run through run_infer_cpp.sh, predict.py, and their bad inputs."""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor
from PIL import Image

from src.dataset_specs import CLASS_NAMES
from src.deploy.exporter import run_exported
from src.mobilenet_v1 import MobileNetV1
from src.model_utils.errors import UserInputError
from tests.conftest import ROOT, TINY_MODEL, run_entry_point

SMALL = TINY_MODEL
RESULT = re.compile(r"result: \{'top_5_accuracy': ([0-9.]+), 'top_1_accuracy': ([0-9.]+)\}")
CPP_INFER_ENV = os.path.join(ROOT, "scripts", "lib", "cpp_infer_env.sh")


@pytest.fixture(scope="module")
def build_env(tmp_path_factory):
    """The environment run_infer_cpp.sh runs in: it builds the harness in a temporary HARNESS_OUT, not in the
    repository, with this Python first on PATH. The Lite runtime and libjpeg come from cpp_infer_env.sh,
    which run_tests.sh sources before pytest; under pytest alone it prepares them here, once (the runtime
    into the user's cache)."""
    env = dict(os.environ, HARNESS_OUT=str(tmp_path_factory.mktemp("harness")),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    setup = subprocess.run(["bash", "-c", 'source "$0" >&2 && printf %s "${MS_LITE_HOME:-}"', CPP_INFER_ENV],
                           env=env, capture_output=True, text=True, timeout=900)
    assert setup.returncode == 0, f"{CPP_INFER_ENV} failed:\n{setup.stderr}"
    if setup.stdout:
        env["MS_LITE_HOME"] = setup.stdout
    return env


def harness(build_env):
    """The built harness, and the environment it runs in: its MindSpore runtime on LD_LIBRARY_PATH."""
    out = build_env["HARNESS_OUT"]
    with open(os.path.join(out, "mindspore_path.txt"), encoding="utf-8") as f:
        return os.path.join(out, "main"), dict(os.environ, LD_LIBRARY_PATH=f.read().strip() + "/lib")


def run_infer_cpp(args, work, env):
    """scripts/run_infer_cpp.sh run in ``work``, which must succeed and build the harness in HARNESS_OUT."""
    proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "run_infer_cpp.sh"), *args], cwd=work, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"built {env['HARNESS_OUT']}/main" in (work / "build.log").read_text()
    return proc


@pytest.fixture(scope="module")
def checkpoint(trained):
    return str(trained[0] / "mobilenetv1-2_3.ckpt")


@pytest.fixture(scope="module")
def cpp_run(tmp_path_factory, build_env, checkpoint, cifar_dirs):
    work = tmp_path_factory.mktemp("infer_cpp")
    proc = run_infer_cpp([checkpoint, cifar_dirs[1], "CPU", "--dataset", "cifar10", "--num_samples", "60",
                          *SMALL[2:]], work, build_env)
    return work, proc


def test_cpp_harness_matches_eval_py_image_by_image(cpp_run, checkpoint, cifar_dirs):
    work, proc = cpp_run
    acc = (work / "acc.log").read_text()
    top1 = float(re.search(r"'top1 acc': ([0-9.]+)", acc)[1])
    assert "images: 60" in acc
    assert re.search(r"NN inference cost average time: [0-9.]+ ms of infer_count 60", proc.stdout)
    evaluation = run_entry_point("eval.py", "--dataset_path", cifar_dirs[1], "--checkpoint_path", checkpoint,
                                 "--num_samples", "60", *SMALL)
    assert evaluation.returncode == 0, evaluation.stderr[-2000:]
    assert top1 == float(RESULT.search(evaluation.stdout)[2])
    # same prediction for every image as the checkpoint's network on the same input tensors
    net = MobileNetV1(class_num=10, width_multiplier=0.25)
    ms.load_param_into_net(net, ms.load_checkpoint(checkpoint))
    net.set_train(False)
    labels = json.loads((work / "preprocess_Result" / "labels.json").read_text())
    for name in labels:
        image = np.fromfile(work / "preprocess_Result" / "00_data" / f"{name}.bin", np.float32).reshape(1, 3, 32, 32)
        cpp_logits = np.fromfile(work / "result_Files" / f"{name}_0.bin", np.float32)
        np.testing.assert_allclose(cpp_logits, net(Tensor(image)).asnumpy()[0], atol=1e-4)


def write_varied_jpegs(root):
    """JPEGs that exercise every decode/resize branch: up- and downscaling, odd aspect ratios, grey, CMYK."""
    rng = np.random.default_rng(5)
    sizes = [(48, 40), (500, 375), (333, 517), (75, 73), (130, 131), (231, 999)]
    for c, name in enumerate(("n01440764", "n01443537", "n01484850")):
        (root / name).mkdir(parents=True)
        for i, (w, h) in enumerate(sizes):
            yy, xx = np.mgrid[0:h, 0:w]
            base = np.stack([(xx * (3 + c) + yy * 2) % 256, (yy * 5 + 40 * i) % 256, ((xx + yy) * 7) % 256], -1)
            image = Image.fromarray(np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8))
            image = image.convert({3: "L", 4: "CMYK"}.get(i, "RGB"))
            image.save(root / name / f"ILSVRC2012_val_{c}{i}.JPEG", quality=90)


@pytest.fixture(scope="module")
def imagenet_cpp_run(tmp_path_factory, build_env):
    """run_infer_cpp.sh on an ImageNet-style folder of JPEGs, decoded by the harness (64x64 model)."""
    root = tmp_path_factory.mktemp("imagenet_jpeg")
    write_varied_jpegs(root / "validation_preprocess")
    ckpt = str(root / "tiny.ckpt")
    ms.set_seed(6)
    ms.save_checkpoint(MobileNetV1(class_num=3, width_multiplier=0.25), ckpt)
    work = tmp_path_factory.mktemp("infer_cpp_imagenet")
    flags = ["--class_num", "3", "--width_multiplier", "0.25", "--image_size", "64"]
    proc = run_infer_cpp([ckpt, str(root), "CPU", *flags], work, build_env)
    return root, ckpt, flags, work, proc


def test_cpp_harness_decodes_jpeg_folders_as_eval_py(imagenet_cpp_run, build_env):
    root, ckpt, flags, work, proc = imagenet_cpp_run
    assert not (work / "preprocess_Result").exists()  # no Python preprocessing on this path
    assert "JPEG decode and preprocessing average time" in proc.stdout
    acc = (work / "acc.log").read_text()
    assert "images: 18" in acc
    evaluation = run_entry_point("eval.py", "--dataset", "imagenet2012", "--device_target", "CPU", "--dataset_path",
                                 root, "--checkpoint_path", ckpt, *flags)
    assert evaluation.returncode == 0, evaluation.stderr[-2000:]
    assert float(re.search(r"'top1 acc': ([0-9.]+)", acc)[1]) == float(RESULT.search(evaluation.stdout)[2])
    assert float(RESULT.search(evaluation.stdout)[1]) == 1.0  # 3 classes: every label is in the top 5

    # the harness's input tensors equal preprocess.py's (eval.py's pipeline), image by image
    pre = run_entry_point("preprocess.py", "--dataset", "imagenet2012", "--device_target", "CPU", "--dataset_path",
                          root, "--result_path", work / "python_inputs", *flags)
    assert pre.returncode == 0, pre.stderr[-2000:]
    main, env = harness(build_env)
    dump = subprocess.run([main, "--mindir_path",
                           str(work / "mobilenetv1_lite.mindir"), "--image_path", str(root / "validation_preprocess"),
                           "--resize", "73", "--input_dump_dir", str(work / "cpp_inputs"), "--result_dir",
                           str(work / "dump_results"), "--label_file", str(work / "dump_labels.json")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert dump.returncode == 0, dump.stderr
    labels = json.loads((work / "labels.json").read_text())
    assert labels == json.loads((work / "python_inputs" / "labels.json").read_text())
    assert sorted(set(labels.values())) == [0, 1, 2]
    for name in labels:
        ours = np.fromfile(work / "cpp_inputs" / f"{name}.bin", np.float32)
        theirs = np.fromfile(work / "python_inputs" / "00_data" / f"{name}.bin", np.float32)
        assert ours.shape == theirs.shape == (3 * 64 * 64,)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)  # same pixels; float rounding only


def test_cpp_harness_rejects_bad_jpeg_folders(imagenet_cpp_run, build_env, tmp_path):
    _, _, _, work, _ = imagenet_cpp_run
    main, env = harness(build_env)
    (tmp_path / "empty").mkdir()
    (tmp_path / "png" / "cls").mkdir(parents=True)
    Image.new("RGB", (80, 80)).save(tmp_path / "png" / "cls" / "a.png")
    (tmp_path / "cut" / "cls").mkdir(parents=True)
    Image.new("RGB", (80, 80)).save(tmp_path / "cut" / "cls" / "a.JPEG")
    cut = tmp_path / "cut" / "cls" / "a.JPEG"
    cut.write_bytes(cut.read_bytes()[:200])
    model = str(work / "mobilenetv1_lite.mindir")
    cases = [("empty", "has no class folders"), ("png", "a.png is not a JPEG file"), ("cut", "cannot decode"),
             ("nowhere", "image folder not found")]
    for folder, message in cases:
        proc = subprocess.run([main, "--mindir_path", model, "--image_path", str(tmp_path / folder),
                               "--result_dir", str(tmp_path / "r")], env=env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 1 and message in proc.stderr, (folder, proc.stderr)


def test_cpp_harness_rejects_bad_inputs(cpp_run, build_env):
    work, _ = cpp_run
    main, env = harness(build_env)
    bad_dir = work / "bad_inputs"
    bad_dir.mkdir()
    (bad_dir / "img.bin").write_bytes(np.zeros(10, np.float32).tobytes())
    model = str(work / "mobilenetv1_lite.mindir")
    cases = [
        (["--mindir_path", model, "--input0_path", str(bad_dir)], "holds 40 bytes; the model input [1,3,32,32]"),
        (["--mindir_path", str(work / "none.mindir"), "--input0_path", str(bad_dir)], "cannot read"),
        (["--mindir_path", model, "--input0_path", str(work / "nowhere")], "input folder not found"),
        (["--mindir_path", model, "--bogus", "1"], "unknown flag --bogus"),
        (["--input0_path", str(bad_dir)], "--mindir_path is required"),
    ]
    for args, message in cases:
        proc = subprocess.run([main, *args], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1 and message in proc.stderr, (args, proc.stderr)


def test_run_infer_cpp_rejects_unknown_device_and_format(tmp_path, checkpoint, cifar_dirs):
    script = os.path.join(ROOT, "scripts", "run_infer_cpp.sh")
    proc = subprocess.run(["bash", script, checkpoint, cifar_dirs[1], "TPU"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 1 and "DEVICE_TYPE must be Ascend, GPU or CPU" in proc.stderr
    (tmp_path / "model.txt").write_text("x")
    proc = subprocess.run(["bash", script, "model.txt", cifar_dirs[1], "CPU"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 1 and "must be a .mindir, .onnx or .ckpt file" in proc.stderr


def test_onnx_with_wrong_input_shape(cpp_run):
    work, _ = cpp_run
    with pytest.raises(UserInputError, match=r"takes input \[1, 3, 32, 32\], got \[2, 3, 32, 32\]"):
        run_exported(str(work / "mobilenetv1_infer.onnx"), np.zeros((2, 3, 32, 32), np.float32))


def test_predict_from_checkpoint_and_onnx_agree(tmp_path, cpp_run, checkpoint):
    work, _ = cpp_run
    for i in range(3):
        Image.fromarray(np.full((40, 40, 3), 60 * i, np.uint8)).save(tmp_path / f"img{i}.png")
    outputs = []
    for model in (checkpoint, str(work / "mobilenetv1_infer.onnx")):
        proc = run_entry_point("predict.py", "--dataset", "cifar10", "--model_path", model, "--image_path", tmp_path,
                               *SMALL[2:], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outputs.append(re.findall(r"  1\. (\w+) \(class (\d)\): ([0-9.]+)", proc.stdout))
    assert len(outputs[0]) == 3 and [o[:2] for o in outputs[0]] == [o[:2] for o in outputs[1]]


@pytest.mark.parametrize("args,message", [
    (["--model_path", "none.ckpt", "--image_path", "."], "model file not found: none.ckpt"),
    (["--model_path", "{bad_model}", "--image_path", "."], "must be a .ckpt, .mindir or .onnx file"),
    (["--model_path", "{ckpt}", "--image_path", "{broken}"], "no image could be read (1 skipped"),
    (["--model_path", "{ckpt}", "--image_path", "nowhere"], "image file or folder not found"),
])
def test_predict_bad_inputs(tmp_path, checkpoint, args, message):
    (tmp_path / "model.txt").write_text("x")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    paths = {"bad_model": str(tmp_path / "model.txt"), "ckpt": checkpoint, "broken": str(tmp_path / "broken.png")}
    proc = run_entry_point("predict.py", "--dataset", "cifar10", *[a.format(**paths) for a in args], *SMALL[2:],
                           cwd=tmp_path)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not [name for name in os.listdir(tmp_path) if "partial" in name]  # no half-written predictions file


def test_postprocess_names_missing_results(tmp_path):
    (tmp_path / "labels.json").write_text(json.dumps({"img_000000": 3}))
    proc = run_entry_point("postprocess.py", "--result_dir", tmp_path, "--label_dir", tmp_path / "labels.json")
    assert proc.returncode == 1 and "no inference result for img_000000" in proc.stderr


def test_postprocess_writes_only_the_accuracy_lines(tmp_path):
    """acc.log is postprocess.py's output: no device line (it runs nothing on a device), the official lines."""
    (tmp_path / "labels.json").write_text(json.dumps({"img_000000": 3, "img_000001": 1}))
    for name, best in (("img_000000", 3), ("img_000001", 0)):
        logits = np.zeros(10, np.float32)
        logits[best] = 1.0
        logits.tofile(tmp_path / f"{name}_0.bin")
    proc = run_entry_point("postprocess.py", "--result_dir", tmp_path, "--label_dir", tmp_path / "labels.json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == ["'top1 acc': 0.5", "'top5 acc': 1.0", "images: 2"]
    assert "device_target" not in proc.stderr


@pytest.mark.parametrize("source", ["convert_onnx.cc", "main.cc", "utils.cc"])
def test_harness_sources_compile_for_aarch64(tmp_path, build_env, source):
    """The harness on a Kunpeng (aarch64) Ascend server: its sources compile with Debian's aarch64 cross g++
    against the MindSpore API headers. image_input.cc is left out here: libjpeg's jconfig.h is per
    architecture, and only the x86 one is installed."""
    from tests.test_cpu_kernels import CROSS_CXX
    api = build_env.get("MINDSPORE_PATH") or build_env["MS_LITE_HOME"]
    api = os.path.join(api, "runtime") if os.path.isdir(os.path.join(api, "runtime")) else api
    harness_dir = os.path.join(ROOT, "ascend310_infer")
    proc = subprocess.run([CROSS_CXX, "-std=c++17", "-O2", "-march=armv8.2-a", "-I", harness_dir, "-I", api,
                           "-I", os.path.join(api, "include"), "-c", os.path.join(harness_dir, "src", source),
                           "-o", str(tmp_path / "out.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out.o").read_bytes()[18] == 183  # EM_AARCH64


@pytest.fixture(scope="module")
def fashion_28(tmp_path_factory, cifar_dirs):
    """A Fashion-MNIST-style run at image size 28 (the documented recipe's crop), exported with export.py's
    defaults: MINDIR and ONNX of the YAML's batch size, each with its settings file."""
    out = tmp_path_factory.mktemp("fashion_28")
    proc = run_entry_point("train.py", "--dataset", "fashion_mnist", "--dataset_path", cifar_dirs[0], *SMALL[:4],
                           "--image_size", "28", "--num_samples", "64", "--batch_size", "16", "--epoch_size", "1",
                           "--save_checkpoint_path", out, cwd=out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpt = str(out / "mobilenetv1-1_4.ckpt")
    for file_format in ("MINDIR", "ONNX"):
        proc = run_entry_point("export.py", "--dataset", "fashion_mnist", "--ckpt_file", ckpt, "--file_name",
                               out / "model", "--file_format", file_format, "--device_target", "CPU", cwd=out)
        assert proc.returncode == 0, proc.stderr[-2000:]
        suffix = file_format.lower()
        assert re.search(rf"^exported: \S+model\.{suffix} \(input \[128, 3, 28, 28\]; settings in \S+model\.{suffix}"
                         r"\.json\)$", proc.stdout, re.M), proc.stdout
    (out / "images").mkdir()
    for i in range(3):
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (28, 28), dtype=np.uint8)).save(
            out / "images" / f"g{i}.png")
    return out, ckpt


def _top5(proc):
    return re.findall(r"  \d\. (.+) \(class (\d)\): ([0-9.]+)", proc.stdout)


def test_predict_takes_an_exports_size_normalisation_and_classes_from_its_settings(fashion_28):
    """No --dataset, no size flag: the MINDIR and the ONNX (batch 128, 3 images padded) answer as the checkpoint,
    with Fashion-MNIST's class names; the export alone fed 32x32 with CIFAR-10's names before."""
    out, ckpt = fashion_28
    answers = []
    for model in (ckpt, str(out / "model.mindir"), str(out / "model.onnx")):
        proc = run_entry_point("predict.py", "--model_path", model, "--image_path", out / "images",
                               "--device_target", "CPU", cwd=out)
        assert proc.returncode == 0, proc.stderr[-2000:]
        answers.append(_top5(proc))
    assert len(answers[0]) == 15 and {name for name, _, _ in answers[0]} <= set(CLASS_NAMES["fashion_mnist"])
    for other in answers[1:]:
        assert [a[:2] for a in other] == [a[:2] for a in answers[0]]
        assert all(abs(float(a[2]) - float(b[2])) < 2e-4 for a, b in zip(other, answers[0]))


def test_preprocess_takes_an_exports_settings_and_refuses_a_missing_file(fashion_28, cifar_dirs, tmp_path):
    out, _ = fashion_28
    proc = run_entry_point("preprocess.py", "--dataset_path", cifar_dirs[1], "--ckpt_file", out / "model.mindir",
                           "--result_path", tmp_path / "r", "--num_samples", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    image = np.fromfile(tmp_path / "r" / "00_data" / "img_000000.bin", np.float32)
    assert image.size == 3 * 28 * 28
    proc = run_entry_point("preprocess.py", "--dataset_path", cifar_dirs[1], "--ckpt_file", "typo.ckpt",
                           "--result_path", tmp_path / "r2", cwd=tmp_path)
    assert proc.returncode == 1 and "error: --ckpt_file: file not found: typo.ckpt" in proc.stderr
    assert not (tmp_path / "r2").exists()


@pytest.mark.parametrize("script, flag, reads", [("predict.py", "--checkpoint_path", "--model_path"),
                                                 ("eval.py", "--model_path", "--checkpoint_path"),
                                                 ("export.py", "--checkpoint_path", "--ckpt_file")])
def test_a_model_flag_the_entry_point_does_not_read_is_named(tmp_path, script, flag, reads):
    proc = run_entry_point(script, flag, "x.ckpt", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (f"{script}: error: {flag} is not read by {script}: it takes its "
                                                    f"model file from {reads}")


def test_cpp_harness_takes_an_exports_image_size_from_its_settings_file(tmp_path, build_env):
    """An ONNX exported by export.py from a 64x64 ImageNet-style run, given to run_infer_cpp.sh with no size flag:
    the harness resizes for 64 (the export's settings file), and scores as eval.py scores the checkpoint."""
    root = tmp_path / "data"
    write_varied_jpegs(root / "validation_preprocess")
    shutil.copytree(root / "validation_preprocess", root / "train")
    flags = ["--dataset", "imagenet2012", "--class_num", "3", "--device_target", "CPU"]
    proc = run_entry_point("train.py", *flags, "--dataset_path", root, "--width_multiplier", "0.25", "--image_size",
                           "64", "--batch_size", "6", "--epoch_size", "1", "--save_checkpoint_path", tmp_path / "run",
                           cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpt = str(tmp_path / "run" / "mobilenetv1-1_3.ckpt")
    proc = run_entry_point("export.py", *flags, "--ckpt_file", ckpt, "--file_name", tmp_path / "m", "--file_format",
                           "ONNX", "--batch_size", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    work = tmp_path / "work"
    work.mkdir()
    proc = run_infer_cpp([str(tmp_path / "m.onnx"), str(root), "CPU", "--class_num", "3"], work, build_env)
    assert "shorter side to 73, centre crop to 64" in proc.stdout, proc.stdout
    acc = (work / "acc.log").read_text()
    evaluation = run_entry_point("eval.py", *flags, "--dataset_path", root, "--checkpoint_path", ckpt, cwd=tmp_path)
    assert evaluation.returncode == 0, evaluation.stderr[-2000:]
    assert float(re.search(r"'top1 acc': ([0-9.]+)", acc)[1]) == float(RESULT.search(evaluation.stdout)[2])
