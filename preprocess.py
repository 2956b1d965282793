"""Write the evaluation images as the C++ harness's input tensors (batch 1, eval.py's preprocessing).

    python preprocess.py --dataset fashion_mnist --dataset_path data/fashion_mnist/fashion-mnist-verify-bin \
        --result_path ./preprocess_Result/ [--ckpt_file the checkpoint the exported model came from]

With --ckpt_file (a checkpoint, or an export with its settings file), the image size and normalisation are
the ones that model was trained with.
"""
import src  # noqa: F401  (caps oneDNN's ISA before MindSpore loads; see src/__init__.py)

# MindSpore and the pipelines load in main(), after the config is read: --help and a bad value answer at once
from src.model_utils.entry import run_entry


def main(config):
    import os
    import sys

    from src.deploy.offline_io import write_inputs
    from src.model_settings import apply_checkpoint_settings
    from src.model_utils.config import flags_given
    from src.model_utils.errors import UserInputError

    if "ckpt_file" in flags_given(sys.argv[1:]):  # the model the harness runs, or the checkpoint it came from
        if not os.path.isfile(config.ckpt_file):
            raise UserInputError(f"--ckpt_file: file not found: {config.ckpt_file}")
        apply_checkpoint_settings(config, config.ckpt_file)
    count, label_path = write_inputs(config, config.result_path)
    print(f"wrote {count} input tensors to {config.result_path}, labels: {label_path}", flush=True)


if __name__ == "__main__":
    run_entry(main, "Preprocess images for C++ inference")
