"""Top-5 classes for one image or a folder of images of any size, from a checkpoint, a MINDIR or an ONNX file.

    python predict.py --dataset fashion_mnist --model_path model.onnx --image_path shirts/ --predictions_file p.csv

Images stream through in batches of batch_size; each image's top 5 goes to the terminal and to predictions_file
(.csv, .json or .jsonl); damaged or unreadable files are named, skipped and counted.
"""
import src  # noqa: F401  (caps oneDNN's ISA before MindSpore loads; see src/__init__.py)

# MindSpore and the pipelines load in main(), after the config is read: --help and a bad value answer at once
from src.model_utils.entry import run_entry


def main(config):
    import logging
    import os

    from src.deploy.prediction_report import Progress, ResultsFile
    from src.deploy.predictor import Prediction, damaged_files, image_files, make_model
    from src.image_files import printable
    from src.dataset import clamp_workers
    from src.model_settings import apply_checkpoint_settings
    from src.model_utils.context import init_context
    from src.model_utils.errors import DatasetError

    logger = logging.getLogger("predict")
    if os.path.isfile(config.model_path):  # a checkpoint's settings, or an export's settings file
        apply_checkpoint_settings(config, config.model_path)
    init_context(config)
    files = image_files(config.image_path, config.recursive)
    prediction = Prediction(make_model(config.model_path, config), config)
    report = ResultsFile(config.predictions_file, prediction.top)  # a path it cannot write stops the run here
    damaged = damaged_files(files, clamp_workers(config.num_parallel_workers))
    progress = Progress(len(files))
    with report as results:
        for path, top in prediction.run(files, damaged):
            progress.step()
            if top is None:
                logger.warning("skipped: %s", prediction.reasons[path])
                results.write(path, None, prediction.reasons[path])
                continue
            results.write(path, top)
            print(printable(path))
            for rank, (index, name, prob) in enumerate(top, 1):
                print(f"  {rank}. {name} (class {index}): {prob:.4f}")
    skipped = len(prediction.reasons)
    if skipped == len(files):
        raise DatasetError(f"no image could be read ({skipped} skipped, listed above; "
                           f"{config.predictions_file} lists them too)")
    logger.info("predicted %d images (%d skipped: damaged or unreadable) at %.1f img/s; results: %s",
                len(files) - skipped, skipped, progress.rate(), config.predictions_file)


if __name__ == "__main__":
    run_entry(main, "Predict image classes with MobileNetV1")
