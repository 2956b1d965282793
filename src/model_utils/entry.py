"""What every entry point does around its work: config, logging, readable failures."""
import logging
import os
import sys

from src.model_utils.config import flags_given, get_config
from src.model_utils.errors import Interrupted, UserInputError
from src.model_utils.moxing_adapter import moxing_wrapper


def setup_logging(rank=None):
    """Plain timestamped lines; in a data-parallel job every line names its rank."""
    prefix = "" if rank is None else f"[rank {rank}] "
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {prefix}%(levelname)s %(message)s",
                        datefmt="%Y-%m-%d %H:%M:%S", force=True)


# The flags that name a model file, and which of them each entry point reads: the others, given to it, would be
# dropped without a word (predict.py --checkpoint_path, eval.py's flag, used to leave predict.py's own empty).
MODEL_FILE_FLAGS = ("pre_trained", "resume", "checkpoint_path", "ckpt_file", "model_path")
MODEL_FILE_READ = {"train.py": ("pre_trained", "resume"), "eval.py": ("checkpoint_path",),
                   "export.py": ("ckpt_file",), "predict.py": ("model_path",), "preprocess.py": ("ckpt_file",)}


def _unread_model_flags(argv, script):
    """One line for a model-file flag on the command line that ``script`` does not read; None if there is none."""
    reads = MODEL_FILE_READ.get(script)
    unread = sorted(set(MODEL_FILE_FLAGS) & flags_given(argv) - set(reads or MODEL_FILE_FLAGS))
    if not unread:
        return None
    return (f"--{unread[0]} is not read by {script}: it takes its model file from "
            f"{' or '.join('--' + key for key in reads)}")


def run_entry(main, description, uses_device=True):
    """Parse the config (exit 2 on a config error), run ``main(config)``; bad input exits 1, Ctrl-C 130.

    With ``enable_modelarts`` the run is wrapped by the ModelArts data/output synchronisation.
    The device is settled here, once, before anything reads it (see ``resolve_device_target``);
    an entry point that runs nothing on a device (postprocess.py) passes ``uses_device=False``.
    """
    config = get_config(description=description)
    unread = _unread_model_flags(sys.argv[1:], os.path.basename(sys.argv[0]))
    if unread:
        print(f"{os.path.basename(sys.argv[0])}: error: {unread}", file=sys.stderr)
        sys.exit(2)
    setup_logging()
    try:
        if uses_device:
            from src.model_utils.context import resolve_device_target  # loads MindSpore
            config.device_target = resolve_device_target(config, "device_target" in flags_given(sys.argv[1:]))
        moxing_wrapper(config)(main)(config)
    except UserInputError as err:
        print(f"{'stopped' if isinstance(err, Interrupted) else 'error'}: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:  # a second Ctrl-C while training, or one outside training
        print("aborted (Ctrl-C); the last checkpoint on disk is intact", file=sys.stderr)
        sys.exit(Interrupted.exit_code)
