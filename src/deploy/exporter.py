"""Export of a checkpoint to a deployable file, written under a temporary name and renamed once it loads, with
its settings beside it."""
import json
import os

import numpy as np
import mindspore as ms
from mindspore import Tensor

from src.checkpoint import load_for_inference
from src.mobilenet_v1 import create_network
from src.model_settings import export_sidecar, recorded_settings
from src.model_utils.atomic_write import WriteError, atomic_open, atomic_path, quiet_mindspore, reason_in
from src.model_utils.errors import UserInputError

SUFFIXES = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air"}


def load_exported(path):
    """A function running an exported MINDIR (MindSpore GraphCell) or ONNX file (onnxruntime) on a batch; its
    ``input_shape`` is the ONNX file's fixed input, else None (a MINDIR does not say)."""
    if path.endswith(".onnx"):
        try:
            import onnxruntime
        except ImportError as err:
            raise UserInputError("checking an ONNX file needs onnxruntime: pip install onnxruntime") from err
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        model_input = session.get_inputs()[0]
        expected, input_name = model_input.shape, model_input.name

        def run_onnx(image):
            if list(image.shape) != list(expected):
                raise UserInputError(f"{path} takes input {expected}, got {list(image.shape)}")
            return session.run(None, {input_name: image})[0]

        run_onnx.input_shape = list(expected) if all(isinstance(d, int) for d in expected) else None
        return run_onnx
    graph = ms.nn.GraphCell(ms.load(path))

    def run_mindir(image):
        return graph(Tensor(image)).asnumpy()

    run_mindir.input_shape = None
    return run_mindir


def run_exported(path, image):
    """Outputs of an exported MINDIR or ONNX file on ``image``."""
    return load_exported(path)(image)


def verify_export(net, path, image, tolerance=1e-4):
    """Max |exported - network| on ``image``; a UserInputError when above ``tolerance``."""
    expected = net(Tensor(image)).asnumpy()
    diff = float(np.abs(run_exported(path, image) - expected).max())
    if diff > tolerance:
        raise UserInputError(f"{path} differs from the checkpoint's network by {diff:.3g} (> {tolerance})")
    return diff


def export_input_shape(config):
    """[batch_size, 3, height, width] of the exported input; a width or height of 0 (the default) is image_size,
    so a model trained at --image_size 32 exports at 32x32 without more flags."""
    return [config.batch_size, 3, config.height or config.image_size, config.width or config.image_size]


def write_export_sidecar(path, config):
    """Beside the exported ``path``: the settings its checkpoint records and its input shape, so that predict.py
    feeds it what it was trained on (an exported graph says neither its normalisation nor its classes)."""
    record = {"settings": recorded_settings(config), "input_shape": export_input_shape(config)}
    try:
        with atomic_open(export_sidecar(path), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1, sort_keys=True)
    except WriteError:
        os.remove(path)  # an export without its settings would be read with the YAML's
        raise


def export_model(config):
    """Write ``config.file_name`` + suffix for the input of ``export_input_shape``, and its settings beside it
    (``write_export_sidecar``); return (path, None).

    The file is written under a temporary name and renamed only once it loads back (MINDIR, ONNX); with
    ``config.verify`` it is also compared with the network on a random batch, and (path, max abs difference)
    returned. A failed write (a full disk) is a WriteError and leaves no file behind.
    """
    if config.file_format == "AIR" and config.device_target != "Ascend":
        raise UserInputError("AIR export needs an Ascend device (--device_target Ascend); "
                             "use --file_format MINDIR or ONNX on CPU and GPU")
    net = create_network(config, exportable=True)
    load_for_inference(net, config.ckpt_file)
    net.set_train(False)
    image = Tensor(np.zeros(export_input_shape(config), np.float32))
    suffix = SUFFIXES[config.file_format]
    path = config.file_name if config.file_name.endswith(suffix) else config.file_name + suffix
    if config.verify and config.file_format == "AIR":
        raise UserInputError("--verify checks MINDIR and ONNX files; AIR runs only on Ascend")
    batch = np.random.default_rng(0).standard_normal(image.shape).astype(np.float32)
    checked = {}

    def check(written):
        """The written file loads (MINDIR, ONNX) and, with --verify, computes what the network does."""
        if config.file_format == "AIR":
            return
        try:
            if config.verify:
                checked["diff"] = verify_export(net, written, batch)
            else:
                load_exported(written)
        except (RuntimeError, ValueError, OSError) as err:
            raise WriteError(f"cannot write {path}: the written file does not load ({str(err).splitlines()[0]}); "
                             "check the free space of its folder") from err

    with atomic_path(path, check=check, suffix=suffix) as tmp:
        with quiet_mindspore() as messages:
            if config.file_format == "ONNX":
                ms.onnx.export(net, image, file_name=tmp, input_names=["x"], output_names=["logits"])
            else:
                ms.export(net, image, file_name=tmp[:-len(suffix)], file_format=config.file_format)
        if not os.path.isfile(tmp) or not os.path.getsize(tmp):  # MindSpore's ONNX export logs its errors only
            reason = reason_in(messages) or f"MindSpore wrote nothing ({'; '.join(messages)[:200]})"
            raise WriteError(f"cannot write {path}: {reason}; free some space or write elsewhere")
    write_export_sidecar(path, config)
    return path, checked.get("diff")
