"""preprocess.py's input files for the C++ harness."""
import os

from src.model_utils.config import get_config
from src.deploy.offline_io import DATA_FOLDER, write_inputs


def test_write_inputs_writes_single_images_and_leaves_the_config_alone(tmp_path, cifar_dirs):
    config = get_config(["--dataset_path", cifar_dirs[1], "--image_size", "32", "--num_samples", "3",
                         "--batch_size", "8"])
    count, label_path = write_inputs(config, str(tmp_path))
    assert count == 3 and os.path.isfile(label_path)
    assert os.path.getsize(tmp_path / DATA_FOLDER / "img_000000.bin") == 3 * 32 * 32 * 4  # one float32 CHW image
    assert config.batch_size == 8


def test_a_set_written_again_replaces_the_earlier_one_whole(tmp_path, cifar_dirs):
    """5 tensors, then 2: the folder holds the 2 new ones only (the harness reads every file there)."""
    for count in (5, 2):
        config = get_config(["--dataset_path", cifar_dirs[1], "--image_size", "32", "--num_samples", str(count)])
        assert write_inputs(config, str(tmp_path))[0] == count
    assert sorted(os.listdir(tmp_path / DATA_FOLDER)) == ["img_000000.bin", "img_000001.bin"]
    assert sorted(os.listdir(tmp_path)) == [DATA_FOLDER, "labels.json"]
