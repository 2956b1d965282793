"""What every entry point does around its work: config, logging, readable failures."""
import logging
import sys

from src.model_utils.config import flags_given, get_config
from src.model_utils.errors import Interrupted, UserInputError
from src.model_utils.moxing_adapter import moxing_wrapper


def setup_logging(rank=None):
    """Plain timestamped lines; in a data-parallel job every line names its rank."""
    prefix = "" if rank is None else f"[rank {rank}] "
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {prefix}%(levelname)s %(message)s",
                        datefmt="%Y-%m-%d %H:%M:%S", force=True)


def run_entry(main, description, uses_device=True):
    """Parse the config (exit 2 on a config error), run ``main(config)``; bad input exits 1, Ctrl-C 130.

    With ``enable_modelarts`` the run is wrapped by the ModelArts data/output synchronisation.
    The device is settled here, once, before anything reads it (see ``resolve_device_target``);
    an entry point that runs nothing on a device (postprocess.py) passes ``uses_device=False``.
    """
    config = get_config(description=description)
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
