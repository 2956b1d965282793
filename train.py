"""Train MobileNetV1.

    python train.py --device_target CPU --dataset_path /path/cifar-10-batches-bin
    python train.py --dataset imagenet2012 --dataset_path /path/ImageNet_Original --device_target GPU
"""
import src  # noqa: F401  (caps oneDNN's ISA before MindSpore loads; see src/__init__.py)

# MindSpore and the pipelines load in main(), after the config is read: --help and a bad value answer at once
from src.model_utils.entry import run_entry, setup_logging


def main(config):
    import mindspore as ms
    from src.model_utils.context import init_context
    from src.training.trainer import train

    ms.set_seed(config.seed)
    rank, group_size = init_context(config, distributed=config.run_distribute)
    if config.run_distribute:
        # the job's real size, whatever --device_num says: the dataset shards itself over it
        config.device_num = group_size
        setup_logging(rank)
    ckpt_dir = train(config, rank=rank, distributed=config.run_distribute)
    if ckpt_dir is not None:
        print(f"checkpoints: {ckpt_dir}", flush=True)


if __name__ == "__main__":
    run_entry(main, "Train MobileNetV1")
