"""Figures of notebook 10: per-class damage, reliability diagrams, corruption curves, image grids,
and the generator's quality against the classifier's accuracy as sparsity grows. Each returns a
``matplotlib.figure.Figure`` (no pyplot state)."""
from __future__ import annotations

from typing import Sequence

from matplotlib.figure import Figure

from ..data import CLASSES
from .corrupt import KINDS


def class_change_figure(summary: dict, members: Sequence[str], title=None) -> Figure:
    """Per-class accuracy change (points, mean over seeds) of each member vs the shipped CNN, as a
    heat map; each cell's value written in it."""
    import numpy as np
    data = np.array([summary[m]["class_change"] for m in members])
    fig = Figure(figsize=(9.5, 0.45 * len(members) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    lim = max(1.0, float(np.abs(data).max()))
    im = ax.imshow(data, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(j, i, f"{data[i, j]:+.1f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(CLASSES)), CLASSES, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(members)), members, fontsize=8)
    fig.colorbar(im, ax=ax, label="class accuracy change (pt) vs the CNN")
    ax.set_title(title or "per-class accuracy change vs the shipped CNN (mean over seeds; red: forgotten)")
    return fig


def _reliability_axes(ax, rel: dict, label: str, color: str, offset: float = 0.0, width: float = 1.0):
    import numpy as np
    edges = rel["edges"].numpy()
    w = (edges[1] - edges[0])
    acc = np.nan_to_num(rel["accuracy"].numpy(), nan=0.0)
    return ax.bar(edges[:-1] + w * offset, acc, width=w * width, align="edge", alpha=0.6, color=color,
                  edgecolor="k", lw=0.3, label=label)


def reliability_figure(rels: dict, title=None) -> Figure:
    """Reliability diagrams side by side: accuracy per confidence bin vs the diagonal (perfect calibration).
    ``rels``: ``{label: labkit.harm.reliability(...)}``."""
    fig = Figure(figsize=(4.2 * len(rels), 3.6), layout="constrained")
    axes = fig.subplots(1, len(rels), squeeze=False)[0]
    for ax, (label, rel) in zip(axes, rels.items()):
        _reliability_axes(ax, rel, label, "C0")
        ax.plot([0, 1], [0, 1], "k--", lw=1)
        ax.set_xlim(0, 1), ax.set_ylim(0, 1)
        ax.set_xlabel("confidence"), ax.set_ylabel("accuracy in the bin")
        ax.set_title(label, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def corruption_figure(summary: dict, members: Sequence[str], severities: Sequence[int], title=None) -> Figure:
    """Accuracy vs severity for each corruption, one line per member (mean over seeds, band: ± std)."""
    fig = Figure(figsize=(13, 3.0), layout="constrained")
    axes = fig.subplots(1, len(KINDS), sharey=True)
    for ax, kind in zip(axes, KINDS):
        for i, m in enumerate(members):
            mean = summary[m]["corruption_acc"][kind]
            std = summary[m]["corruption_std"][kind]
            style = dict(color="k", lw=2.2) if m == "cnn" else dict(color=f"C{i % 10}", lw=1.2)
            ax.plot(severities, mean, marker="o", ms=3, label=m, **style)
            ax.fill_between(severities, [a - s for a, s in zip(mean, std)], [a + s for a, s in zip(mean, std)],
                            alpha=0.15, color=style["color"])
        ax.set_title(kind, fontsize=9)
        ax.set_xlabel("severity")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    axes[-1].legend(fontsize=7, loc="lower left")
    if title:
        fig.suptitle(title)
    return fig


def image_grid(images, titles: Sequence[str] | None = None, cols: int = 8, title=None) -> Figure:
    """Images (N, 28, 28), uint8 or [0, 1], in a grid with a small title under each."""
    n = len(images)
    rows = max(1, -(-n // cols))
    fig = Figure(figsize=(cols * 1.15, rows * 1.35 + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([]), ax.set_yticks([])
        if k < n:
            img = images[k]
            img = img.float() / 255 if str(img.dtype) == "torch.uint8" else img
            ax.imshow(img.reshape(28, 28).numpy(), cmap="gray_r", vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[k], fontsize=6)
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def tile(images, cols: int = 8):
    """(N, 28, 28) images as one (rows * 28, cols * 28) array (a sample grid in one ``imshow``)."""
    import torch
    n = len(images)
    rows = -(-n // cols)
    canvas = torch.ones(rows * 28, cols * 28)
    for k in range(n):
        r, c = divmod(k, cols)
        canvas[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28] = images[k].reshape(28, 28)
    return canvas.numpy()


def sample_grids(grids: dict, cols: int = 6, title=None) -> Figure:
    """Side by side, one sample grid per label (``{label: images (N, 28, 28) in [0, 1]}``), the same latent draws in each."""
    fig = Figure(figsize=(2.3 * len(grids), 2.7), layout="constrained")
    axes = fig.subplots(1, len(grids), squeeze=False)[0]
    for ax, (label, imgs) in zip(axes, grids.items()):
        ax.imshow(1 - tile(imgs, cols), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def quality_figure(gen: dict, classifier_finetuned: dict | None = None, title=None) -> Figure:
    """Left: the generator's Fréchet distance vs sparsity (one-shot; recovered by KD / fine-tuning,
    mean of seeds), the real-data floor dotted. Right: the classifiers' accuracy vs sparsity
    (one-shot, and fine-tuned members of the population: ``{sparsity: (mean, std)}``)."""
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    a, b = fig.subplots(1, 2)
    xs = [r["config"]["sparsity"] for r in gen["prune"]]
    a.plot(xs, [r["fd"] for r in gen["prune"]], "o-", color="C3", label="VAE generator, one-shot")
    for method, marker in (("kd", "s"), ("fine-tune", "^")):
        pts: dict = {}
        for r in gen["recover"]:
            if r["config"]["method"] == method:
                pts.setdefault(r["config"]["sparsity"], []).append(r["fd"])
        if pts:
            a.plot(list(pts), [sum(v) / len(v) for v in pts.values()], marker, ms=8, ls="none",
                   label=f"recovered by {method} (mean of seeds)")
    a.axhline(gen["real_floor_fd"], color="k", ls=":", lw=1, label="real vs real (noise floor)")
    a.set_yscale("log")
    a.set_xlabel("sparsity (fraction of zero weights)"), a.set_ylabel("Fréchet distance in CNN features (lower: better)")
    a.legend(fontsize=7), a.grid(True, alpha=0.3)
    a.set_title("generator: quality vs sparsity", fontsize=9)
    by: dict = {}
    for r in gen["classifier"]:
        by.setdefault(r["config"]["model"], []).append((r["config"]["sparsity"], r["accuracy_pct"]))
    for i, (name, pts) in enumerate(by.items()):
        b.plot(*zip(*pts), "o-", color=f"C{i}", label=f"{name} classifier, one-shot")
    if classifier_finetuned:
        s = sorted(classifier_finetuned)
        b.errorbar(s, [classifier_finetuned[k][0] for k in s], yerr=[classifier_finetuned[k][1] for k in s], fmt="D",
                   color="k", capsize=3, label="cnn pruned + fine-tuned (population)")
    b.set_xlabel("sparsity (fraction of zero weights)"), b.set_ylabel("test accuracy (%)")
    b.legend(fontsize=7), b.grid(True, alpha=0.3)
    b.set_title("classifier: accuracy vs sparsity", fontsize=9)
    if title:
        fig.suptitle(title)
    return fig
