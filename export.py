"""Export a MobileNetV1 checkpoint to MINDIR, ONNX or (on Ascend) AIR.

    python export.py --ckpt_file ckpt --file_name mobilenetv1 --file_format MINDIR --device_target CPU --verify True

The input is [batch_size, 3, height, width] from the config (width and height default to image_size);
the C++ harness needs --batch_size 1 (scripts/run_infer_cpp.sh passes it).
"""
import src  # noqa: F401  (caps oneDNN's ISA before MindSpore loads; see src/__init__.py)

# MindSpore and the pipelines load in main(), after the config is read: --help and a bad value answer at once
from src.model_utils.entry import run_entry


def main(config):
    from src.deploy.exporter import export_input_shape, export_model
    from src.model_settings import apply_checkpoint_settings, export_sidecar
    from src.model_utils.context import init_context

    apply_checkpoint_settings(config, config.ckpt_file)
    init_context(config, exportable=True)
    path, diff = export_model(config)
    print(f"exported: {path} (input {export_input_shape(config)}; settings in {export_sidecar(path)})", flush=True)
    if diff is not None:
        print(f"verified: max abs difference to the checkpoint's network {diff:.3g} (tolerance 1e-4)", flush=True)


if __name__ == "__main__":
    run_entry(main, "Export MobileNetV1")
