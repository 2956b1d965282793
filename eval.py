"""Evaluate a MobileNetV1 checkpoint: top-1 and top-5 over every image of the evaluation set.

    python eval.py --dataset cifar10 --dataset_path /path/cifar-10-verify-bin --checkpoint_path ckpt --device_target CPU
"""
import src  # noqa: F401  (caps oneDNN's ISA before MindSpore loads; see src/__init__.py)

# MindSpore and the pipelines load in main(), after the config is read: --help and a bad value answer at once
from src.model_utils.entry import run_entry


def main(config):
    from src.evaluator import evaluate
    from src.model_settings import apply_checkpoint_settings
    from src.model_utils.context import init_context

    apply_checkpoint_settings(config, config.checkpoint_path)
    init_context(config)
    result = evaluate(config)
    print(f"result: {result} ckpt={config.checkpoint_path}", flush=True)


if __name__ == "__main__":
    run_entry(main, "Evaluate MobileNetV1")
