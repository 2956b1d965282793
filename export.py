"""Export a MobileNetV1 checkpoint to MINDIR, ONNX or (on Ascend) AIR.

    python export.py --ckpt_file ckpt --file_name mobilenetv1 --file_format MINDIR --device_target CPU
"""
import src  # noqa: F401  (caps oneDNN's ISA before MindSpore loads; see src/__init__.py)

from src.exporter import export_model
from src.model_utils.context import init_context
from src.model_utils.entry import run_entry


def main(config):
    init_context(config)
    path = export_model(config)
    print(f"exported: {path}", flush=True)


if __name__ == "__main__":
    run_entry(main, "Export MobileNetV1")
