"""ModelArts support: copy data in from OBS before a job and results out after it (moxing).

Used only when ``enable_modelarts=True``; ``moxing`` (ModelArts' own library, not the unrelated
PyPI package of that name) is imported only then. One process per server copies, the others wait
on a lock file.
"""
import functools
import logging
import os
import time
import zipfile

from src.model_utils.errors import UserInputError
from src.model_utils.device_adapter import get_device_id, get_device_num

logger = logging.getLogger(__name__)
LOCK_DIR = "/tmp"
_STARTED = time.time()  # a lock older than this process is left over from an earlier job


def _mox_file():
    try:
        import moxing as mox
    except ImportError as err:
        raise UserInputError("enable_modelarts=True needs ModelArts' moxing library, which is not installed "
                             "(run the job on ModelArts, or set enable_modelarts=False)") from err
    return mox.file


def _is_copier():
    """The first process of each server copies; the others wait for it."""
    return get_device_id() % min(get_device_num(), 8) == 0


def _once_per_server(name, work):
    """Run ``work`` in the copier process, then release everybody waiting on lock ``name``."""
    lock = os.path.join(LOCK_DIR, f"{name}.lock")
    if _is_copier():
        try:
            work()
        finally:
            with open(lock, "w", encoding="utf-8") as f:
                f.write(str(os.getpid()))
        return
    while not (os.path.exists(lock) and os.path.getmtime(lock) >= _STARTED - 1):
        time.sleep(1)


def sync_data(from_path, to_path, name):
    """Copy ``from_path`` (OBS or local) to ``to_path`` once per server."""
    mox = _mox_file()

    def copy():
        start = time.time()
        logger.info("copying %s -> %s", from_path, to_path)
        mox.copy_parallel(from_path, to_path)
        logger.info("copied in %.1f s", time.time() - start)

    _once_per_server(name, copy)


def unzip_dataset(zip_path, target_dir):
    """Unzip the dataset archive once per server, printing the progress."""
    if not os.path.isfile(zip_path):
        raise UserInputError(f"need_modelarts_dataset_unzip=True but {zip_path} does not exist "
                             "(data_url must hold <modelarts_dataset_unzip_name>.zip)")

    def unzip():
        with zipfile.ZipFile(zip_path) as archive:
            members = archive.infolist()
            step = max(1, len(members) // 10)
            for index, member in enumerate(members, 1):
                archive.extract(member, target_dir)
                if index % step == 0 or index == len(members):
                    print(f"unzip percent: {100 * index // len(members)}%", flush=True)

    _once_per_server("unzip_sync_" + os.path.basename(zip_path), unzip)


def modelarts_pre_process(config):
    """Point the config at the copied data and make every output land under ``output_path``."""
    if config.need_modelarts_dataset_unzip:
        unzip_dataset(os.path.join(config.data_path, config.modelarts_dataset_unzip_name + ".zip"),
                      config.data_path)
        config.dataset_path = os.path.join(config.data_path, config.modelarts_dataset_unzip_name)
    config.save_checkpoint_path = config.output_path
    if not os.path.isabs(config.checkpoint_path):
        config.checkpoint_path = os.path.join(config.load_path, config.checkpoint_path)
    if not os.path.isabs(config.ckpt_file):
        config.ckpt_file = os.path.join(config.load_path, config.ckpt_file)
    config.file_name = os.path.join(config.output_path, os.path.basename(config.file_name))


def moxing_wrapper(config, pre_process=modelarts_pre_process):
    """Decorate an entry point's main: sync inputs before, outputs after (also when it fails)."""

    def decorator(run):
        @functools.wraps(run)
        def wrapped(*args, **kwargs):
            if not config.enable_modelarts:
                return run(*args, **kwargs)
            if config.data_url:
                sync_data(config.data_url, config.data_path, "copy_sync_data")
            if config.checkpoint_url:
                sync_data(config.checkpoint_url, config.load_path, "copy_sync_ckpt")
            if config.train_url and _mox_file().exists(config.train_url):
                sync_data(config.train_url, config.output_path, "copy_sync_output")
            os.makedirs(config.output_path, exist_ok=True)
            pre_process(config)
            profiler = None
            if config.enable_profiling:
                from mindspore import Profiler
                profiler = Profiler(output_path=os.path.join(config.output_path, "profiler"))
            try:
                return run(*args, **kwargs)
            finally:
                if profiler is not None:
                    profiler.analyse()
                if config.train_url:
                    logger.info("uploading %s -> %s", config.output_path, config.train_url)
                    _mox_file().copy_parallel(config.output_path, config.train_url)

        return wrapped

    return decorator
