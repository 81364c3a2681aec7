"""Figures of notebook 05: softened teacher outputs at a temperature, and sweep plots with seed error bars.
"""
from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator
from ..data import CLASSES


# The classes a 28x28 image confuses most (notebook 00): T-shirt/top, Pullover, Coat, Shirt.
CONFUSABLE = (0, 2, 4, 6)


def _softened(logits: torch.Tensor, T: float) -> torch.Tensor:
    from .losses import soft_targets
    return soft_targets(torch.as_tensor(logits, dtype=torch.float32), T)


class TemperaturePlot:
    """``temperature_figure`` drawn once; ``png(T)`` redraws only the bars and the title at ``T``
    (``labkit.ui.plots.MovingFigure``: ~0.05 s a move instead of ~0.5 s on 2 cores)."""

    def __init__(self, logits, images, labels, T: float = 1.0, focus=CONFUSABLE, classes=CLASSES, dpi: int = 100):
        from ..ui.plots import MovingFigure
        self.logits = torch.as_tensor(logits, dtype=torch.float32)
        n = len(self.logits)
        fig = Figure(figsize=(7.6, 1.35 * n + 0.5), layout="constrained")
        axes = fig.subplots(n, 2, squeeze=False, width_ratios=[1, 5.5])
        colors = ["tab:blue" if c in focus else "0.75" for c in range(len(classes))]
        self.bars = []
        for i in range(n):
            axes[i][0].imshow(images[i].numpy() if isinstance(images[i], torch.Tensor) else images[i],
                              cmap="gray_r", vmin=0, vmax=255)
            axes[i][0].set_xticks([]), axes[i][0].set_yticks([])
            axes[i][0].set_ylabel(classes[int(labels[i])], rotation=0, ha="right", va="center", fontsize=9)
            ax = axes[i][1]
            bars = ax.bar(range(len(classes)), [0.0] * len(classes), color=colors, edgecolor="k", linewidth=0.4)
            bars[int(labels[i])].set_hatch("//")
            self.bars.append(bars)
            ax.set_ylim(0, 1)
            ax.set_yticks([0, 0.5, 1])
            ax.set_xticks(range(len(classes)))
            ax.set_xticklabels(classes if i == n - 1 else [], rotation=30, ha="right", fontsize=8)
            ax.grid(True, axis="y", alpha=0.3)
        self.title = fig.suptitle(self._title(T), fontsize=9)
        self.fig = fig
        self.view = MovingFigure(fig, [b for bars in self.bars for b in bars] + [self.title], dpi=dpi)
        self.set(T)

    @staticmethod
    def _title(T):
        return f"teacher's softmax(z / T) at T = {T:g} (hatched: the true class; blue: the confusable classes)"

    def set(self, T: float):
        """Bars and title at temperature ``T``."""
        probs = _softened(self.logits, T)
        for bars, row in zip(self.bars, probs.tolist()):
            for bar, p in zip(bars, row):
                bar.set_height(p)
        self.title.set_text(self._title(T))

    def png(self, T: float) -> bytes:
        self.set(T)
        return self.view.png()


def temperature_figure(logits, images, labels, T: float, focus=CONFUSABLE, classes=CLASSES) -> Figure:
    """One row per example: the image, then the teacher's ``softmax(z / T)`` over all classes
    (the ``focus`` classes in colour, the others grey), on a fixed 0-1 axis so rows compare."""
    plot = TemperaturePlot(logits, images, labels, T, focus, classes)
    for a in plot.view.moving:
        a.set_animated(False)
    return plot.fig


def describe_temperature(logits, labels, T: float, focus=CONFUSABLE, classes=CLASSES) -> str:
    """One line: mean probability of the top class and of the confusable classes other than
    the true one, and the mean entropy (bits), at temperature T."""
    probs = _softened(logits, T)
    labels = torch.as_tensor(labels)
    top = float(probs.max(1).values.mean())
    mask = torch.zeros_like(probs, dtype=torch.bool)
    mask[:, list(focus)] = True
    mask[torch.arange(len(labels)), labels] = False
    dark = float((probs * mask).sum(1).mean())
    ent = float(-(probs * probs.clamp_min(1e-30).log2()).sum(1).mean())
    return (f"T={T:g}: top class {top:.2f} | other confusable classes {dark:.2f} | entropy {ent:.2f} bits "
            f"(uniform over {probs.shape[1]}: {torch.log2(torch.tensor(float(probs.shape[1]))):.2f})")


# ---------------------------------------------------------------------------- the sweeps
KIND_TITLES = {"temperature": "temperature T (alpha fixed)", "alpha": "alpha: weight of the distillation term",
               "teacher": "teacher (params, test accuracy)", "budget": "labelled images of the student",
               "feature": "feature distillation (attention transfer)"}


class SweepPlot:
    """``sweep_figure`` drawn once; ``png(highlight)`` moves only the selection ring (blitting)."""

    def __init__(self, rows, kind: str, live=None, title=None, dpi: int = 100, selectable: bool = True):
        from ..ui.plots import MovingFigure
        from .sweep import mean_std
        self.values = [r["value"] for r in rows]
        fig = Figure(figsize=(6.6, 3.6), layout="constrained")
        ax = fig.add_subplot()
        named = kind in ("teacher", "feature")       # categories: no line joins them, long names tilted
        # numbers sit at their values (alpha on a linear axis, temperature and budget on a log one)
        xs = list(range(len(rows))) if named else [float(r["value"]) for r in rows]
        self.xs = xs
        ax.errorbar(xs, [r["alone_mean"] for r in rows], yerr=[mean_std(r["alone"])[1] for r in rows],
                    fmt="s" if named else "s--", color="0.55", capsize=3, label="student alone")
        ax.errorbar(xs, [r["mean"] for r in rows], yerr=[r["std"] for r in rows], fmt="o" if named else "o-",
                    color="tab:blue", capsize=3, label="with the teacher")
        self.ring = ax.scatter([xs[0]], [rows[0]["mean"]], s=300, facecolors="none", edgecolors="crimson",
                               linewidths=2, zorder=4, label="selected" if selectable else None)
        for value, accs in (live or {}).items():
            if value in self.values:
                i = self.values.index(value)
                ax.scatter([xs[i]] * len(accs), accs, marker="*", s=160, color="darkorange", edgecolors="k",
                           linewidths=0.5, zorder=5, label="live" if value == next(iter(live)) else None)
        if not named and kind != "alpha" and min(xs) > 0:
            ax.set_xscale("log")
        ax.set_xticks(xs)
        ax.set_xticklabels([r["name"] if named else f"{r['value']:g}" for r in rows], fontsize=8,
                           rotation=20 if named else 0, ha="right" if named else "center")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(KIND_TITLES.get(kind, kind))
        ax.set_ylabel("validation accuracy (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        if title:
            ax.set_title(title, fontsize=10)
        self.fig = fig
        self.view = MovingFigure(fig, [self.ring], dpi=dpi)

    def place(self, highlight):
        self.ring.set_visible(highlight is not None)
        if highlight is not None:
            self.ring.set_offsets([[self.xs[self.values.index(highlight["value"])], highlight["mean"]]])

    def png(self, highlight=None) -> bytes:
        self.place(highlight)
        return self.view.png()


def sweep_figure(rows, kind: str, highlight=None, live=None, title=None) -> Figure:
    """Validation accuracy (mean +- std over seeds) per setting, next to the student alone
    (grey: same seeds, same labelled images); ``live`` maps a row's value to live accuracies."""
    plot = SweepPlot(rows, kind, live=live, title=title, selectable=highlight is not None)
    plot.place(highlight)
    plot.ring.set_animated(False)
    return plot.fig


def describe_row(row) -> str:
    accs = ", ".join(f"{a:.2f}" for a in row["accs"])
    return (f"{row['name']}: validation {row['mean']:.2f} +- {row['std']:.2f} % (seeds: {accs}) | "
            f"student alone {row['alone_mean']:.2f} % | gain {row['gain']:+.2f} pt")


# ---------------------------------------------------------------------------- students of several widths
ARM_COLORS = {"alone": "0.45", "label smoothing": "tab:green", "kd": "tab:blue"}


def width_seed_figure(view: dict, metric: str = "test_accuracy_pct") -> Figure:
    """The width sweep (``labkit.distillation.widths``) seed by seed: one panel per number of
    labelled images, accuracy per student width and arm, every seed a dot, the mean with its
    +- 1 std bar beside (seaborn ``stripplot`` + ``pointplot``)."""
    import pandas as pd
    import seaborn as sns
    df = pd.DataFrame(view["rows"])
    fig = Figure(figsize=(10.5, 3.9), layout="constrained")
    axes = fig.subplots(1, len(view["images"]), squeeze=False)[0]
    hue = dict(hue="arm", hue_order=list(view["arms"]), palette=ARM_COLORS, order=list(view["widths"]))
    for ax, n in zip(axes, view["images"]):
        part = df[df["images"] == n]
        sns.stripplot(data=part, x="width", y=metric, dodge=True, jitter=0.08, size=5, alpha=0.8, ax=ax,
                      legend=False, **hue)
        sns.pointplot(data=part, x="width", y=metric, dodge=0.53, errorbar="sd", capsize=0.08, linestyle="none",
                      markers="_", markersize=14, err_kws={"linewidth": 1.4}, ax=ax, **hue)
        ax.set_title(f"{n:,} labelled images, {len(view['seeds'])} seeds", fontsize=11)
        ax.set_xlabel("student width (channels of its first conv; the teacher: 32)")
        ax.set_ylabel("test accuracy (%)" if metric.startswith("test") else "validation accuracy (%)")
        ax.grid(True, axis="y", alpha=0.3)
        ax.get_legend().remove()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles[:len(view["arms"])], labels[:len(view["arms"])], loc="outside lower center",
               ncols=len(view["arms"]), fontsize=9, title="dots: seeds; bar: mean +- 1 std")
    return fig


def width_pareto_figure(summary: list[dict], latency_ms: dict, teacher: dict, images=None,
                        latency_label: str = "latency, measured now (ms)") -> Figure:
    """Accuracy (mean +- std over seeds) against stored bytes and against the latency measured
    now (both on log axes), one line per (arm, labelled images) joining its widths in the order of
    the x axis, the teacher as a star. ``latency_ms``: ``{width:
    ms, "teacher": ms}`` measured side by side; ``teacher``: its ``size_bytes``, ``test_accuracy_pct``."""
    fig = Figure(figsize=(10.5, 4.0), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    images = images or sorted({r["images"] for r in summary})
    styles = {n: s for n, s in zip(sorted(images), ("--", "-"))}
    markers = {n: m for n, m in zip(sorted(images), ("o", "s"))}
    for ax, x_of, xlabel in ((axes[0], lambda r: r["size_bytes"], "stored bytes (fp32 weights, log scale)"),
                             (axes[1], lambda r: latency_ms[r["width"]], latency_label)):
        for n in images:
            for arm, color in ARM_COLORS.items():
                rows = sorted((r for r in summary if r["images"] == n and r["arm"] == arm), key=x_of)
                if not rows:
                    continue
                ax.errorbar([x_of(r) for r in rows], [r["mean"] for r in rows], yerr=[r["std"] for r in rows],
                            fmt=markers[n] + styles[n], color=color, capsize=3, markersize=5,
                            label=f"{arm}, {n:,} images")
        for r in summary:       # widths written once, over the KD points of the larger data set
            if r["arm"] == "kd" and r["images"] == max(images):
                ax.annotate(f"w{r['width']}", (x_of(r), r["mean"]), textcoords="offset points", xytext=(-6, 8),
                            fontsize=9)
        tx = teacher["size_bytes"] if ax is axes[0] else latency_ms["teacher"]
        ax.scatter([tx], [teacher["test_accuracy_pct"]], marker="*", s=220, color="crimson", edgecolors="k",
                   linewidths=0.5, zorder=5, label="teacher cnn (60,000 images)")
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    for ax, fmt in ((axes[0], lambda x, _: f"{x / 1e3:g} kB" if x < 1e6 else f"{x / 1e6:g} MB"),
                    (axes[1], lambda x, _: f"{x:g}")):
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(FuncFormatter(fmt))
        ax.xaxis.set_minor_formatter(NullFormatter())
    axes[0].set_ylabel("test accuracy (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=8)
    return fig
