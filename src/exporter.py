"""Export of a checkpoint to a deployable file."""
import numpy as np
import mindspore as ms
from mindspore import Tensor

from src.checkpoint import load_for_inference
from src.mobilenet_v1 import create_network
from src.model_utils.errors import UserInputError

SUFFIXES = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air"}


def export_model(config):
    """Write ``config.file_name`` + suffix for input [batch_size, 3, height, width]; return the path."""
    if config.file_format == "AIR" and config.device_target != "Ascend":
        raise UserInputError("AIR export needs an Ascend device (--device_target Ascend); "
                             "use --file_format MINDIR or ONNX on CPU and GPU")
    net = create_network(config)
    load_for_inference(net, config.ckpt_file)
    net.set_train(False)
    image = Tensor(np.zeros([config.batch_size, 3, config.height, config.width], np.float32))
    if config.file_format == "ONNX":
        ms.onnx.export(net, image, file_name=config.file_name, input_names=["x"], output_names=["logits"])
    else:
        ms.export(net, image, file_name=config.file_name, file_format=config.file_format)
    suffix = SUFFIXES[config.file_format]
    return config.file_name if config.file_name.endswith(suffix) else config.file_name + suffix
