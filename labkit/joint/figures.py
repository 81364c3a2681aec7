"""Notebook 08's figures: the ADMM residual."""
from __future__ import annotations

from matplotlib.figure import Figure


def residual_figure(runs: dict[str, list[float]], every: int, title: str | None = None) -> Figure:
    """``||W - Z|| / ||W||`` after each Z update (every ``every`` steps), one line per run (log scale)."""
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.add_subplot()
    for label, res in runs.items():
        ax.plot([every * (i + 1) for i in range(len(res))], res, marker=".", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("training steps")
    ax.set_ylabel("||W - Z|| / ||W||")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
