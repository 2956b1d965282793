"""Top-1/top-5 of the C++ harness's results over every preprocessed image.

    python postprocess.py --result_dir ./result_Files --label_dir ./preprocess_Result/labels.json
"""
import src  # noqa: F401  (caps oneDNN's ISA before MindSpore loads; see src/__init__.py)

# MindSpore and the pipelines load in main(), after the config is read: --help and a bad value answer at once
from src.model_utils.entry import run_entry


def main(config):
    from src.deploy.offline_io import score_results

    result = score_results(config.result_dir, config.label_dir)
    print(f"'top1 acc': {result['top1 acc']}")
    print(f"'top5 acc': {result['top5 acc']}")
    print(f"images: {result['images']}", flush=True)


if __name__ == "__main__":
    run_entry(main, "Score C++ inference results", uses_device=False)
