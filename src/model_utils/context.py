"""MindSpore execution context for an entry point: graph mode, device, data parallelism."""
import logging

import mindspore as ms

from src.model_utils.device_adapter import get_device_id

logger = logging.getLogger(__name__)


def init_context(config, distributed=False):
    """Set graph mode and the device; with ``distributed``, join the job and set data parallelism.

    Returns (rank, group_size). ``config.device_num`` is updated to the group size, so the
    dataset shards itself across the job.
    """
    ms.set_context(mode=ms.GRAPH_MODE)
    target = config.device_target
    if target == "CPU":
        ms.set_device("CPU")
    else:
        ms.set_device(target, get_device_id() if target == "Ascend" else config.device_id)
    if not distributed:
        return 0, 1
    from mindspore.communication import get_group_size, get_rank, init
    init()
    group_size = get_group_size()
    config.device_num = group_size
    ms.reset_auto_parallel_context()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                 device_num=group_size)
    if target == "Ascend":
        ms.set_auto_parallel_context(all_reduce_fusion_config=[75])
    logger.info("data-parallel job: rank %d of %d (%s)", get_rank(), group_size, target)
    return get_rank(), group_size
