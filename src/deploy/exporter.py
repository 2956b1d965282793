"""Export of a checkpoint to a deployable file."""
import numpy as np
import mindspore as ms
from mindspore import Tensor

from src.checkpoint import load_for_inference
from src.mobilenet_v1 import create_network
from src.model_utils.errors import UserInputError

SUFFIXES = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air"}


def load_exported(path):
    """A function running an exported MINDIR (MindSpore GraphCell) or ONNX file (onnxruntime) on a batch."""
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

        return run_onnx
    graph = ms.nn.GraphCell(ms.load(path))
    return lambda image: graph(Tensor(image)).asnumpy()


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


def export_model(config):
    """Write ``config.file_name`` + suffix for the input of ``export_input_shape``; return the path.

    With ``config.verify`` the written file is loaded back and compared with the network on a
    random batch; the path and the max abs difference are returned then.
    """
    if config.file_format == "AIR" and config.device_target != "Ascend":
        raise UserInputError("AIR export needs an Ascend device (--device_target Ascend); "
                             "use --file_format MINDIR or ONNX on CPU and GPU")
    net = create_network(config, exportable=True)
    load_for_inference(net, config.ckpt_file)
    net.set_train(False)
    image = Tensor(np.zeros(export_input_shape(config), np.float32))
    if config.file_format == "ONNX":
        ms.onnx.export(net, image, file_name=config.file_name, input_names=["x"], output_names=["logits"])
    else:
        ms.export(net, image, file_name=config.file_name, file_format=config.file_format)
    suffix = SUFFIXES[config.file_format]
    path = config.file_name if config.file_name.endswith(suffix) else config.file_name + suffix
    if not config.verify:
        return path, None
    if config.file_format == "AIR":
        raise UserInputError("--verify checks MINDIR and ONNX files; AIR runs only on Ascend")
    batch = np.random.default_rng(0).standard_normal(image.shape).astype(np.float32)
    return path, verify_export(net, path, batch)
