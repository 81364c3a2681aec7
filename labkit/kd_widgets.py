"""Widgets of notebook 05 (distillation): a temperature slider over a teacher's softened
outputs, and an explorer of the cached distillation sweeps with a live "distil" button.

Same rules as ``labkit.widgets``: figures are ``matplotlib.figure.Figure`` rendered to PNG and
*assigned* to an Output's ``outputs`` (never ``with out:``, ``clear_output()`` or ``display()``
in an observer), so they work, and are tested, without a kernel::

    w = temperature_widget(logits, images, labels); w.select(8.0); w.label.value
    s = sweep_widget(sweeps, live=...); s.select("temperature", 4); s.run_live()
"""
from __future__ import annotations

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from .data import CLASSES
from .widgets import LiveWidget, show_figure

# The classes a 28x28 image confuses most (notebook 00): T-shirt/top, Pullover, Coat, Shirt.
CONFUSABLE = (0, 2, 4, 6)


def _softened(logits: torch.Tensor, T: float) -> torch.Tensor:
    from .distill import soft_targets
    return soft_targets(torch.as_tensor(logits, dtype=torch.float32), T)


def temperature_figure(logits, images, labels, T: float, focus=CONFUSABLE, classes=CLASSES) -> Figure:
    """One row per example: the image, then the teacher's ``softmax(z / T)`` over all classes
    (the ``focus`` classes in colour, the others grey), on a fixed 0-1 axis so rows compare."""
    probs = _softened(logits, T)
    n = len(probs)
    fig = Figure(figsize=(7.6, 1.35 * n + 0.5), layout="constrained")
    axes = fig.subplots(n, 2, squeeze=False, width_ratios=[1, 5.5])
    colors = ["tab:blue" if c in focus else "0.75" for c in range(len(classes))]
    for i in range(n):
        axes[i][0].imshow(images[i].numpy() if isinstance(images[i], torch.Tensor) else images[i],
                          cmap="gray_r", vmin=0, vmax=255)
        axes[i][0].set_xticks([]), axes[i][0].set_yticks([])
        axes[i][0].set_ylabel(classes[int(labels[i])], rotation=0, ha="right", va="center", fontsize=9)
        ax = axes[i][1]
        bars = ax.bar(range(len(classes)), probs[i].numpy(), color=colors, edgecolor="k", linewidth=0.4)
        bars[int(labels[i])].set_hatch("//")
        ax.set_ylim(0, 1)
        ax.set_yticks([0, 0.5, 1])
        ax.set_xticks(range(len(classes)))
        ax.set_xticklabels(classes if i == n - 1 else [], rotation=30, ha="right", fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(f"teacher's softmax(z / T) at T = {T:g} (hatched: the true class; blue: the confusable classes)",
                 fontsize=9)
    return fig


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


class TemperatureExplorer(LiveWidget):
    """A temperature slider that redraws a teacher's softened outputs; see ``temperature_widget``."""

    def __init__(self, logits, images, labels, start: float = 1.0, t_max: float = 20.0,
                 focus=CONFUSABLE, classes=CLASSES):
        super().__init__()
        if len(logits) != len(images) or len(logits) != len(labels) or len(logits) == 0:
            raise ValueError(f"logits, images and labels must have the same non-zero length, got "
                             f"{len(logits)}, {len(images)}, {len(labels)}")
        self.logits, self.images, self.labels = torch.as_tensor(logits), images, torch.as_tensor(labels)
        self.focus, self.classes = focus, classes
        self.slider = widgets.FloatSlider(value=start, min=0.5, max=t_max, step=0.5, description="T",
                                          continuous_update=True, readout_format=".1f")
        self.label = widgets.Label()
        self.out = widgets.Output()
        self.children = [self.slider, self.label, self.out]
        self.slider.observe(self._on_slider, names="value")
        self._update()

    def _update(self):
        T = self.slider.value
        self.label.value = describe_temperature(self.logits, self.labels, T, self.focus, self.classes)
        show_figure(self.out, temperature_figure(self.logits, self.images, self.labels, T, self.focus, self.classes))

    def _on_slider(self, _change):
        self._guarded(self._update)

    def select(self, T: float):
        """Show temperature ``T`` (same as moving the slider)."""
        self._move(T)
        return self.label.value


def temperature_widget(logits, images, labels, start: float = 1.0, t_max: float = 20.0,
                       focus=CONFUSABLE, classes=CLASSES) -> TemperatureExplorer:
    """A slider over the temperature T that redraws a teacher's ``softmax(z / T)`` for a few
    examples (``logits`` (n, classes), ``images`` uint8 (n, 28, 28), true ``labels``): the
    "dark knowledge" of Hinton et al. (2015) appears as T grows."""
    return TemperatureExplorer(logits, images, labels, start, t_max, focus, classes)


# ---------------------------------------------------------------------------- the sweeps
KIND_TITLES = {"temperature": "temperature T (alpha fixed)", "alpha": "alpha: weight of the distillation term",
               "teacher": "teacher (params, test accuracy)", "budget": "labelled images of the student",
               "feature": "feature distillation (attention transfer)"}


def sweep_figure(rows, kind: str, highlight=None, live=None, title=None) -> Figure:
    """Validation accuracy (mean +- std over seeds) per setting, next to the student alone
    (grey: same seeds, same labelled images); ``live`` maps a row's value to live accuracies."""
    from .distill import mean_std
    fig = Figure(figsize=(6.6, 3.6), layout="constrained")
    ax = fig.add_subplot()
    xs = list(range(len(rows)))
    ax.errorbar(xs, [r["alone_mean"] for r in rows], yerr=[mean_std(r["alone"])[1] for r in rows],
                fmt="s--", color="0.55", capsize=3, label="student alone")
    ax.errorbar(xs, [r["mean"] for r in rows], yerr=[r["std"] for r in rows], fmt="o-", color="tab:blue",
                capsize=3, label="with the teacher")
    if highlight is not None:
        i = [r["value"] for r in rows].index(highlight["value"])
        ax.scatter([i], [highlight["mean"]], s=300, facecolors="none", edgecolors="crimson", linewidths=2,
                   zorder=4, label="selected")
    for value, accs in (live or {}).items():
        if value in [r["value"] for r in rows]:
            i = [r["value"] for r in rows].index(value)
            ax.scatter([i] * len(accs), accs, marker="*", s=160, color="darkorange", edgecolors="k",
                       linewidths=0.5, zorder=5, label="live" if value == next(iter(live)) else None)
    named = kind in ("teacher", "feature")       # long names: tilt them
    ax.set_xticks(xs)
    ax.set_xticklabels([r["name"] if named else f"{r['value']:g}" for r in rows], fontsize=8,
                       rotation=20 if named else 0, ha="right" if named else "center")
    ax.set_xlabel(KIND_TITLES.get(kind, kind))
    ax.set_ylabel("validation accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def describe_row(row) -> str:
    accs = ", ".join(f"{a:.2f}" for a in row["accs"])
    return (f"{row['name']}: validation {row['mean']:.2f} +- {row['std']:.2f} % (seeds: {accs}) | "
            f"student alone {row['alone_mean']:.2f} % | gain {row['gain']:+.2f} pt")


class SweepExplorer(LiveWidget):
    """Pick a sweep and a setting; see ``sweep_widget``."""

    def __init__(self, sweeps: dict, live=None, kinds=None):
        from .distill import SWEEP_PARAM, sweep_rows
        super().__init__()
        available = [k for k in (kinds or SWEEP_PARAM) if k in sweeps.get("sweeps", {})]
        if not available:
            raise ValueError("no student sweeps in this cache: make them with `python -m labkit.distill sweep`")
        if live is not None and not callable(live):
            raise TypeError("live must be a callable live(setting, progress) -> validation accuracy in %")
        self.rows = {k: sweep_rows(sweeps, k) for k in available}
        self.live, self.live_points = live, {k: {} for k in available}
        self.kind = widgets.Dropdown(options=[(KIND_TITLES[k], k) for k in available], value=available[0],
                                     description="sweep")
        self.slider = widgets.SelectionSlider(options=self._options(available[0]), description="setting",
                                              continuous_update=False)
        self.label = widgets.Label()
        self.out = widgets.Output()
        self.button = widgets.Button(description="distil", icon="play", disabled=live is None,
                                     tooltip="train one student now with this setting (one seed)")
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="live")
        self.children = [self.kind, self.slider, self.label] + \
            ([widgets.HBox([self.button, self.progress])] if live else []) + [self.out]
        self.kind.observe(self._on_kind, names="value")
        self.slider.observe(self._on_slider, names="value")
        self.button.on_click(lambda _b: self.run_live())
        self._update()

    def _options(self, kind):
        return [(r["name"], r["value"]) for r in self.rows[kind]]

    @property
    def current(self) -> dict:
        return next(r for r in self.rows[self.kind.value] if r["value"] == self.slider.value)

    def _update(self):
        row = self.current
        live = self.live_points[self.kind.value].get(row["value"])
        self._say(describe_row(row) + (f" | live: {', '.join(f'{a:.2f}' for a in live)} %" if live else ""))
        show_figure(self.out, sweep_figure(self.rows[self.kind.value], self.kind.value, highlight=row,
                                     live=self.live_points[self.kind.value]))

    def _on_kind(self, _change):
        def switch():
            self._quiet = True
            try:
                self.slider.options = self._options(self.kind.value)
            finally:
                self._quiet = False
            self._update()
        self._guarded(switch)

    def _on_slider(self, _change):
        self._guarded(self._update)

    def select(self, kind: str, value):
        """Show sweep ``kind`` at setting ``value`` (same as the dropdown and the slider)."""
        if kind not in self.rows:
            raise ValueError(f"unknown sweep {kind!r}: choose one of {list(self.rows)}")
        values = [r["value"] for r in self.rows[kind]]
        if value not in values:
            raise ValueError(f"{value!r} is not in the {kind} sweep; choose one of {values}")
        if self.kind.value != kind:
            self.kind.value = kind
        self._move(value)
        return self.current

    def run_live(self):
        """Train one student with the selected setting now (same as clicking "distil"); its
        validation accuracy joins the plot as a star. Errors go to the label; returns it or None."""
        if self.live is None:
            raise RuntimeError("this explorer has no live run: pass live=callable(setting, progress)")
        row, kind = self.current, self.kind.value
        acc = self._run(f"distilling a student with {row['name']} ...",
                        lambda progress: float(self.live(dict(row["setting"]), progress)))
        if acc is None:
            return None
        self.live_points[kind].setdefault(row["value"], []).append(acc)
        self._update()
        return acc


def sweep_widget(sweeps: dict, live=None, kinds=None) -> SweepExplorer:
    """Explore the cached distillation sweeps (``labkit.distill.load_sweeps()``): a dropdown
    picks the sweep, a slider the setting; the label gives validation accuracy over seeds and
    the gain over the student alone. ``live(setting, progress) -> accuracy`` (e.g. wrapping
    ``labkit.distill.live_run``) makes the "distil" button train one student now."""
    return SweepExplorer(sweeps, live=live, kinds=kinds)
