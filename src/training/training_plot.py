"""PNG of a run's curves (loss, learning rate, validation accuracy) from its metrics file."""
import json
import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

from src.model_utils.atomic_write import WriteError, atomic_path  # noqa: E402

logger = logging.getLogger(__name__)


def read_metrics(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def plot_metrics(metrics_path, png_path):
    """Draw loss and LR per logged step and top-1/top-5 per validation; return the PNG path."""
    records = read_metrics(metrics_path)
    steps = [r for r in records if r["type"] == "step"]
    evals = [r for r in records if r["type"] == "eval"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    axes[0].plot([r["global_step"] for r in steps], [r["loss"] for r in steps])
    axes[0].set(title="training loss", xlabel="step")
    axes[1].plot([r["global_step"] for r in steps], [r["lr"] for r in steps], color="tab:orange")
    axes[1].set(title="learning rate", xlabel="step")
    if evals:
        for key, label in (("top_1_accuracy", "top-1"), ("top_5_accuracy", "top-5")):
            axes[2].plot([r["epoch"] for r in evals], [r[key] for r in evals], marker="o", label=label)
        axes[2].legend()
    else:
        axes[2].text(0.5, 0.5, "no validation (eval_interval = 0)", ha="center", va="center")
    axes[2].set(title="validation accuracy", xlabel="epoch")
    fig.tight_layout()
    try:
        with atomic_path(png_path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
    return png_path


def plot_or_warn(metrics_path, png_path):
    """``plot_metrics``, with a failure (a full disk) a warning: the curves are not worth a run."""
    try:
        return plot_metrics(metrics_path, png_path)
    except (WriteError, OSError, ValueError) as err:
        logger.warning("curves not drawn: %s", err)
        return None
