"""Trade-off dashboards: a slider over a precomputed sweep (instant), an optional button for
a live computation with a progress bar, and the accuracy / size / latency plot.

nbval-safe by construction: the figure is rendered to PNG and *assigned* to the Output
widget's ``outputs`` (never ``with out:``, ``clear_output()`` or ``display()`` in an observer),
so it works, and is testable, without a kernel, and the saved notebook keeps the last image.

Fast: a dashboard draws its figure once and redraws only the selection ring and its name on
each move (``plots.TradeoffPlot``, blitting), ~0.03 s instead of ~0.3 s; ``make bench`` times
every widget of the lab (``labkit.ui.catalogue``). A live button says how long its run takes
(``live_seconds``, then the last run's measured time), shows progress at once, and in a kernel
runs in a background thread, so the other widgets keep answering::

    dash = tradeoff_dashboard(points, "width", baseline=full)
    dash.select(0.5); dash.label.value   # 'width=0.5: accuracy 89.12 % | size 45.20 KiB | ...'
"""
from __future__ import annotations

import base64
import threading
import time

import ipywidgets as widgets

from ..ui.plots import TradeoffPlot, check_points, figure_png, fmt_bytes, fmt_count


def _distinct(values) -> list:
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    try:
        return sorted(out)
    except TypeError:  # mixed types: keep sweep order
        return out


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _ratio(a, b):
    return a / b if a > 0 and b > 0 else None


def describe(p, param, baseline=None) -> str:
    """One line for a point, with the change vs ``baseline`` if given. ``param``: the config key
    shown first, or a sequence of keys."""
    keys = [param] if isinstance(param, str) else list(param)
    text = (", ".join(f"{k}={p['config'][k]}" for k in keys) + f": accuracy {p['accuracy_pct']:.2f} % | "
            f"size {fmt_bytes(p['size_bytes'])} | {p['latency_ms']:.2f} ms | "
            f"{fmt_count(p['macs'])} MACs")
    if baseline is None:
        return text
    parts = [f"{p['accuracy_pct'] - baseline['accuracy_pct']:+.2f} pt"]
    r = _ratio(baseline["size_bytes"], p["size_bytes"])
    if r is not None:
        parts.append(f"{r:.1f}x smaller" if r >= 1 else f"{1 / r:.1f}x larger")
    r = _ratio(baseline["latency_ms"], p["latency_ms"])
    if r is not None:
        parts.append(f"{r:.1f}x faster" if r >= 1 else f"{1 / r:.1f}x slower")
    return text + " (vs baseline: " + ", ".join(parts) + ")"


def show_figure(out: widgets.Output, fig) -> None:
    """Render ``fig`` to PNG and assign it to ``out`` (safe inside observers and without a kernel)."""
    show_png(out, figure_png(fig))


def show_png(out: widgets.Output, png: bytes) -> None:
    """Assign PNG bytes to ``out`` as its one output (what ``show_figure`` does after rendering)."""
    out.outputs = ({"output_type": "display_data",
                    "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<Figure>"},
                    "metadata": {}},)


def snapshot_png(widget) -> str | None:
    """The figure a widget tree shows now (the first ``Output`` holding a PNG, breadth first), as
    base64 text, or ``None``."""
    todo = [widget]
    while todo:
        w = todo.pop(0)
        if isinstance(w, widgets.Output):
            for o in w.outputs:
                if "image/png" in o.get("data", {}):
                    return o["data"]["image/png"]
        todo.extend(getattr(w, "children", ()))
    return None


class StaticView:
    """A widget whose display also carries a PNG of its figure as it was last drawn: JupyterLab and
    Voila show the live widget, while a static rendering of the saved notebook (the reveal.js decks
    of ``make slides``, nbconvert's HTML, GitHub) shows the figure instead of a "loading widget"
    placeholder. The text/plain part stays the widget's own."""

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        png = snapshot_png(self)
        if isinstance(bundle, dict) and png:
            bundle = {**bundle, "image/png": png}
        return bundle


class Tabs(StaticView, widgets.Tab):
    """``ipywidgets.Tab`` whose static rendering shows the first tab's figure (``StaticView``)."""


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def fmt_seconds(s: float) -> str:
    """``under 1 s``, ``~45 s``, ``~2.5 min``: how long a live run takes, for a button."""
    return "under 1 s" if s < 1 else f"~{s:.0f} s" if s < 90 else f"~{s / 60:.1f} min"


class LiveWidget(StaticView, widgets.VBox):
    """What every lab widget shares: a label for messages (errors in red, kept in ``last_error``),
    observers that never lose an exception to the kernel log, and a live run behind a button with
    a progress bar. Subclasses set ``label``, ``out``, ``button``, ``progress`` and ``_quiet``, and
    call ``_live_button(text, live_seconds)`` to make the button.

    The button's label says how long a run takes: ``live_seconds`` (an estimate given by the
    notebook) until a run has been timed, then the last run's measured time. A click shows
    progress at once (label and bar, before any work) and the time left as the run reports its
    fraction done; inside a kernel the run goes to a background thread (``_thread``), so sliders
    of this and other widgets keep answering while it trains. ``run_live()`` itself is synchronous."""

    last_error = None
    _quiet = False
    _thread = None
    live_seconds = None     # the estimate, then the measured time of the last run
    _measured = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.RLock()      # one render at a time (a live run's thread renders too)

    def _live_button(self, text: str, live_seconds=None, tooltip: str = "", disabled: bool = False):
        self._button_text = text
        self.live_seconds = None if live_seconds is None else float(live_seconds)
        self.button = widgets.Button(icon="play", disabled=disabled, tooltip=tooltip,
                                     layout=widgets.Layout(width="auto"))
        self.button.add_class("labkit-live")        # the browser tests click every one
        self._label_button()
        self.button.on_click(lambda _b: self._click())
        return self.button

    def _label_button(self):
        s = self.live_seconds
        when = ("time: shown after the first run" if s is None else
                fmt_seconds(s) + (", as the last run" if self._measured else ", estimated"))
        self.button.description = f"{self._button_text} ({when})"

    def _click(self):
        """The button: progress first, then the run (in a thread inside a kernel)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.button.disabled, self.progress.value, self.progress.bar_style = True, 0.0, "info"
        self._say("starting the live run" + (f" ({fmt_seconds(self.live_seconds)})" if self.live_seconds else "") + " ...")
        if _in_kernel():
            self._thread = threading.Thread(target=self.run_live, name="labkit-live", daemon=True)
            self._thread.start()
        else:
            self.run_live()

    def _say(self, text, error=False):
        self.label.value = text
        self.label.style.text_color = "#b00020" if error else None

    def _fail(self, exc):
        self.last_error = exc
        self._say("error: " + _one_line(exc), error=True)

    def _guarded(self, fn):
        """Run an observer's work; its errors go to the label."""
        if self._quiet:
            return
        try:
            fn()
        except Exception as exc:  # an observer must not lose errors in a kernel log
            self._fail(exc)

    def _move(self, value):
        """Put ``self.slider`` on ``value``; if it is there already, render anyway (as a move would)."""
        if self.slider.value == value:
            self._update()
        else:
            self.slider.value = value

    def _progress(self, fraction, text=""):
        fraction = min(max(float(fraction), 0.0), 1.0)
        self.progress.value = fraction
        elapsed = time.perf_counter() - self._started
        left = f" | {fmt_seconds(elapsed * (1 - fraction) / fraction)} left" if 0.05 <= fraction < 1 else ""
        if text or left:
            self._say(f"running: {text}{left}")

    def _run(self, message, fn):
        """The live button's work: ``fn(progress)`` with the button disabled; returns its result,
        or None with the error in the label and the bar red. Times the run for the button."""
        self.button.disabled, self.progress.value, self.progress.bar_style = True, 0.0, "info"
        self._say(message)
        self._started = time.perf_counter()
        try:
            result = fn(self._progress)
        except Exception as exc:
            self.progress.bar_style = "danger"
            self._fail(exc)
            return None
        finally:
            self.button.disabled = False
        self.live_seconds, self._measured = time.perf_counter() - self._started, True
        self._label_button()
        self.progress.value, self.progress.bar_style = 1.0, "success"
        return result


class Dashboard(LiveWidget):
    """Slider over ``points`` by ``config[param]``; see ``tradeoff_dashboard``."""

    def __init__(self, points, param, baseline=None, live=None, live_values=None, title=None, live_seconds=None):
        super().__init__()
        self.points = [dict(p) for p in check_points(points, param)]
        if baseline is not None:
            check_points([baseline])
        if live_values is not None and live is None:
            raise ValueError("live_values given without live=: pass live=callable(value, progress)")
        if live is not None and not callable(live):
            raise TypeError("live must be a callable live(value, progress) -> point")
        self.param, self.baseline, self.live, self.title = param, baseline, live, title

        values = _distinct(p["config"][param] for p in self.points)
        start = baseline["config"].get(param) if baseline is not None else None
        self.slider = widgets.SelectionSlider(
            options=[(str(v), v) for v in values], value=start if start in values else values[0],
            description=param, continuous_update=False)
        self.label = widgets.Label()
        self.out = widgets.Output()
        self._live_button("run live", live_seconds, disabled=live is None)
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="live")
        self.plot = None
        self.live_choice = (widgets.Dropdown(options=list(live_values), description="value")
                            if live_values is not None else None)

        row = [self.button] + ([self.live_choice] if self.live_choice else []) + [self.progress]
        self.children = [self.slider, self.label] + ([widgets.HBox(row)] if live else []) + [self.out]
        self.slider.observe(self._on_slider, names="value")
        self._update()

    @property
    def current(self):
        """The point shown: the live one for the slider value if any, else the most accurate."""
        matches = [p for p in self.points if p["config"][self.param] == self.slider.value]
        return max(matches, key=lambda p: (p.get("label") == "live", p["accuracy_pct"]))

    def _update(self):
        point = self.current
        self._say(describe(point, self.param, self.baseline))
        with self._lock:
            if self.plot is None:       # drawn once per set of points (again after a live run)
                self.plot = TradeoffPlot(self.points, baseline=self.baseline, title=self.title)
            show_png(self.out, self.plot.png(point))

    def _on_slider(self, _change):
        self._guarded(self._update)

    def select(self, value):
        """Show the point with ``config[param] == value`` (same as moving the slider)."""
        values = [v for _, v in self.slider.options]
        if value not in values:
            raise ValueError(f"{self.param}={value!r} is not in the sweep; choose one of {values}"
                             + (" or run_live() to compute it" if self.live else ""))
        self._move(value)
        return self.current

    def run_live(self):
        """Call ``live`` on the chosen value (same as clicking): add/replace the point, select it.
        Errors are shown in the label (and kept in ``.last_error``); returns the point or None."""
        if self.live is None:
            raise RuntimeError("this dashboard has no live computation: pass live=callable(value, progress)")
        value = self.live_choice.value if self.live_choice is not None else self.slider.value

        def compute(progress):
            point = dict(self.live(value, progress))
            point.setdefault("config", {self.param: value})
            check_points([point], self.param)
            return point
        point = self._run(f"running {self.param}={value} ...", compute)
        if point is None:
            return None
        point["label"] = "live"
        same = [i for i, p in enumerate(self.points) if p["config"] == point["config"]]
        if same:
            self.points[same[0]] = point
        else:
            self.points.append(point)
        self.plot = None
        new = point["config"][self.param]
        values = [v for _, v in self.slider.options]
        if new not in values:
            self._quiet = True  # changing options resets the value; render once, below
            try:
                self.slider.options = [(str(v), v) for v in _distinct(values + [new])]
            finally:
                self._quiet = False
        self.select(new)
        return point


def tradeoff_dashboard(points, param, baseline=None, live=None, live_values=None, title=None,
                       live_seconds=None) -> Dashboard:
    """A trade-off dashboard over a precomputed sweep.

    ``points``: dicts with accuracy_pct, size_bytes, latency_ms, macs, config (optional label);
    ``param``: the config key the slider moves over; ``baseline``: a point to compare against;
    ``live(value, progress) -> point``: an optional live computation, ``progress(fraction, text)``
    drives the progress bar; ``live_values``: the values offered to it (default: the slider's);
    ``live_seconds``: how long one live run takes, for the button (measured by each run after).
    """
    return Dashboard(points, param, baseline=baseline, live=live, live_values=live_values, title=title,
                     live_seconds=live_seconds)
