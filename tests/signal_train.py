"""train.py interrupted by a signal it sends itself at the end of a set global step:

    python tests/signal_train.py SIGINT|SIGKILL STEP [train.py flags ...]

SIGINT is a Ctrl-C (the run saves and stops); SIGKILL ends the process on the spot, as a machine that
goes down would. The signal comes from inside the step, so where the run stops does not depend on when
a parent process gets to read the output.
"""
import os
import runpy
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from src.training.callbacks import ProgressMonitor  # noqa: E402  (needs ROOT on sys.path)

SIGNAL = getattr(signal, sys.argv.pop(1))
STOP_AT = int(sys.argv.pop(1))
_step_end = ProgressMonitor.on_train_step_end


def _interrupting_step_end(monitor, run_context):
    if monitor.record.global_step(run_context.original_args()) == STOP_AT:
        signal.raise_signal(SIGNAL)  # SIGINT: its handler has run when this returns, this step is the last
    _step_end(monitor, run_context)


ProgressMonitor.on_train_step_end = _interrupting_step_end
sys.argv[0] = os.path.join(ROOT, "train.py")
runpy.run_path(sys.argv[0], run_name="__main__")
