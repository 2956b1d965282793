"""Top-5 classes for one image or a folder of images, from a checkpoint, a MINDIR or an ONNX file.

    python predict.py --dataset fashion_mnist --model_path model.onnx --image_path shirt.png
"""
import src  # noqa: F401  (caps oneDNN's ISA before MindSpore loads; see src/__init__.py)

# MindSpore and the pipelines load in main(), after the config is read: --help and a bad value answer at once
from src.model_utils.entry import run_entry


def main(config):
    from src.model_utils.context import init_context
    from src.deploy.predictor import predict

    init_context(config)
    for path, top in predict(config.model_path, config.image_path, config):
        print(path)
        for rank, (index, name, prob) in enumerate(top, 1):
            print(f"  {rank}. {name} (class {index}): {prob:.4f}")


if __name__ == "__main__":
    run_entry(main, "Predict image classes with MobileNetV1")
