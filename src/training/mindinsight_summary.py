"""Optional MindSpore SummaryRecord scalars (loss, LR, accuracy) for MindInsight (--enable_summary)."""
from mindspore import Tensor
from mindspore.train.summary import SummaryRecord


class SummaryScalars:
    """Writes named scalars at a step into ``summary_dir``; close() at the end of training."""

    def __init__(self, summary_dir):
        self._record = SummaryRecord(summary_dir)

    def scalars(self, step, **values):
        for name, value in values.items():
            self._record.add_value("scalar", name, Tensor(float(value)))
        self._record.record(step)

    def close(self):
        self._record.close()
