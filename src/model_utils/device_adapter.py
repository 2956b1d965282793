"""Device and rank ids for the entry points. ModelArts sets the same variables (DEVICE_ID,
RANK_SIZE, RANK_ID, JOB_ID) as the local launch scripts, so one set of getters serves both."""
from src.model_utils.local_adapter import get_device_id, get_device_num, get_job_id, get_rank_id

__all__ = ["get_device_id", "get_device_num", "get_rank_id", "get_job_id"]
