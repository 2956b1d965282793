"""Optional MindSpore SummaryRecord scalars (loss, LR, accuracy) for MindInsight (--enable_summary)."""
import logging

from mindspore import Tensor
from mindspore.train.summary import SummaryRecord

logger = logging.getLogger(__name__)


class SummaryScalars:
    """Writes named scalars at a step into ``summary_dir``; close() at the end of training. A failed write (a full
    disk) is a warning, once, and the summary stops: training goes on."""

    def __init__(self, summary_dir):
        self._record = SummaryRecord(summary_dir)
        self._failed = False

    def scalars(self, step, **values):
        if self._failed:
            return
        try:
            for name, value in values.items():
                self._record.add_value("scalar", name, Tensor(float(value)))
            self._record.record(step)
        except (OSError, RuntimeError) as err:
            self._failed = True
            logger.warning("MindInsight summary stopped: %s; training goes on", err)

    def close(self):
        try:
            self._record.close()
        except (OSError, RuntimeError) as err:
            logger.warning("MindInsight summary not closed: %s", err)
