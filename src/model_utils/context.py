"""MindSpore execution context for an entry point: graph mode, device, data parallelism."""
import logging
import os

import mindspore as ms
from mindspore._c_expression import MSContext

from src.model_utils.device_adapter import get_device_id
from src.model_utils.errors import UserInputError

logger = logging.getLogger(__name__)
DEVICE_TARGETS = ("Ascend", "GPU", "CPU")


def available_devices():
    """The device targets this MindSpore installation can run on.

    Asks the context directly: ``ms.device_context.<device>.is_available()`` logs a warning for
    every device it lacks."""
    return [target for target in DEVICE_TARGETS if MSContext.get_instance().is_pkg_support_device(target)]


def resolve_device_target(config, named_by_user):
    """The device to run on: ``config.device_target`` when this installation has it.

    A device that only the YAML names (the official YAMLs say Ascend) falls back to CPU with one
    log line, so the official commands run anywhere; a device the user named is an error.
    """
    target, devices = config.device_target, available_devices()
    if target in devices:
        return target
    if named_by_user:
        raise UserInputError(f"--device_target {target}: this MindSpore installation cannot use {target}; "
                             f"it runs on {', '.join(devices)}. Pass --device_target {devices[-1]}, "
                             f"or install the MindSpore package for {target}")
    logger.warning("device_target %s (from %s) is not available in this MindSpore installation: running on CPU",
                   target, config.config_path)
    return "CPU"


def init_context(config, distributed=False, exportable=False):
    """Set oneDNN's instruction-set cap for the network the config builds (``exportable``: MindSpore's cells
    only, as export.py builds it; src/cpu_kernels/isa.py), graph mode and the device; with ``distributed``,
    join the job and set data parallelism.

    Returns (rank, group_size); ``config`` is only read.
    """
    from src.cpu_kernels import configure_onednn, kernels_from_config
    configure_onednn(kernels_from_config(config, exportable))
    ms.set_context(mode=ms.GRAPH_MODE)
    target = config.device_target
    if target == "CPU":
        ms.set_device("CPU")
        if config.cpu_threads:
            ms.device_context.cpu.op_tuning.threads_num(config.cpu_threads)
            logger.info("MindSpore CPU kernel threads: %d (OpenMP threads: %s)", config.cpu_threads,
                        os.environ.get("OMP_NUM_THREADS", "all cores"))
    else:
        ms.set_device(target, get_device_id() if target == "Ascend" else config.device_id)
    if not distributed:
        return 0, 1
    from mindspore.communication import get_group_size, get_rank, init
    init()
    group_size = get_group_size()
    ms.reset_auto_parallel_context()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                 device_num=group_size)
    if target == "Ascend":
        ms.set_auto_parallel_context(all_reduce_fusion_config=[75])
    logger.info("data-parallel job: rank %d of %d (%s)", get_rank(), group_size, target)
    return get_rank(), group_size
