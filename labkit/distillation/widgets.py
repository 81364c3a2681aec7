"""Notebook 05's widgets: the temperature slider and the sweep explorer with a live "distil" button.
"""
from __future__ import annotations

import ipywidgets as widgets
import torch
from ..data import CLASSES
from ..ui.widgets import LiveWidget, show_png
from .figures import CONFUSABLE, KIND_TITLES, SweepPlot, TemperaturePlot, describe_row, describe_temperature


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
        self.plot = TemperaturePlot(self.logits, images, self.labels, start, focus, classes)
        self._update()

    def _update(self):
        T = self.slider.value
        self.label.value = describe_temperature(self.logits, self.labels, T, self.focus, self.classes)
        with self._lock:
            show_png(self.out, self.plot.png(T))

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


class SweepExplorer(LiveWidget):
    """Pick a sweep and a setting; see ``sweep_widget``."""

    def __init__(self, sweeps: dict, live=None, kinds=None, live_seconds=None):
        from .sweep import SWEEP_PARAM, sweep_rows
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
        self.plots = {}           # one figure per sweep, drawn when first shown (again after a live run)
        self._live_button("distil", live_seconds, disabled=live is None,
                          tooltip="train one student now with this setting (one seed)")
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="live")
        self.children = [self.kind, self.slider, self.label] + \
            ([widgets.HBox([self.button, self.progress])] if live else []) + [self.out]
        self.kind.observe(self._on_kind, names="value")
        self.slider.observe(self._on_slider, names="value")
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
        kind = self.kind.value
        with self._lock:
            if kind not in self.plots:
                self.plots[kind] = SweepPlot(self.rows[kind], kind, live=self.live_points[kind])
            show_png(self.out, self.plots[kind].png(row))

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
        self.plots.pop(kind, None)
        self._update()
        return acc


def sweep_widget(sweeps: dict, live=None, kinds=None, live_seconds=None) -> SweepExplorer:
    """Explore the cached distillation sweeps (``labkit.distillation.load_sweeps()``): a dropdown
    picks the sweep, a slider the setting; the label gives validation accuracy over seeds and
    the gain over the student alone. ``live(setting, progress) -> accuracy`` (e.g. wrapping
    ``labkit.distillation.live_run``) makes the "distil" button train one student now;
    ``live_seconds``: how long that takes, for the button (each run then measures it)."""
    return SweepExplorer(sweeps, live=live, kinds=kinds, live_seconds=live_seconds)


def bench_temperature():
    """For ``labkit.ui.catalogue``, notebook 05: ``temperature_widget`` on four test images of the
    teacher ``cnn``."""
    from .. import data, zoo
    teacher = zoo.load("cnn")
    images, labels = data.arrays("test")
    examples = [int((labels == c).nonzero()[0]) for c in (6, 0, 2, 4)]
    with torch.inference_mode():
        logits = teacher(data.normalize(images[examples]))
    return {"": (lambda: temperature_widget(logits, images[examples], labels[examples], start=4.0),
                 [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 12.0, 6.0, 3.0, 1.5])}


def bench_sweeps():
    """For ``labkit.ui.catalogue``, notebook 05: ``sweep_widget`` over the cached sweeps (dropdown +
    slider)."""
    from ..ui.catalogue import _live          # the bench does not train; the browser test's tiny run does
    from .sweep import SWEEP_PARAM, load_sweeps, sweep_rows
    sweeps = load_sweeps()
    kinds = [k for k in SWEEP_PARAM if k in sweeps["sweeps"]]
    moves = [(k, r["value"]) for k in kinds for r in sweep_rows(sweeps, k)]
    return {"": (lambda: sweep_widget(sweeps, live=_live(accuracy=80.0)), moves)}
