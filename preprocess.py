"""Write the evaluation images as the C++ harness's input tensors (batch 1, eval.py's preprocessing).

    python preprocess.py --dataset fashion_mnist --dataset_path data/fashion_mnist/fashion-mnist-verify-bin \
        --result_path ./preprocess_Result/
"""
import src  # noqa: F401  (caps oneDNN's ISA before MindSpore loads; see src/__init__.py)

# MindSpore and the pipelines load in main(), after the config is read: --help and a bad value answer at once
from src.model_utils.entry import run_entry


def main(config):
    from src.deploy.offline_io import write_inputs

    count, label_path = write_inputs(config, config.result_path)
    print(f"wrote {count} input tensors to {config.result_path}, labels: {label_path}", flush=True)


if __name__ == "__main__":
    run_entry(main, "Preprocess images for C++ inference")
