"""Every widget of the lab, built from its cached sweep the way its notebook builds it, for the
move-latency benchmark (``python -m labkit.tools.bench --widgets``, ``make bench``).

Adding a notebook's widget is one entry in ``WIDGETS`` of its topic's ``manifest.py``: a name and
``"module:function"`` of a builder that lives next to the widget. A builder takes no argument, prepares
the data as the notebook does (cached sweep, zoo checkpoints) and returns ``{label: (make,
moves)}``, one item per widget (e.g. the tabs of 02; label "" for a lone widget): ``make()``
builds the widget exactly as the notebook's cell does (the bench times it), ``moves`` is the
list of selections a lecturer would drag through, each passed to ``widget.select``: a value
(``select(v)``), a tuple (``select(*t)``) or a dict (``select(**d)``). The bench cycles through
``moves`` for 20 moves, so list them in slider order. E.g. notebook 04, in
``labkit/binarization/manifest.py``::

    WIDGETS = {"04 binarization": "labkit.binarization.widgets:bench_widgets"}

and in ``labkit/binarization/widgets.py``::

    def bench_widgets():
        sweep = load_sweep()
        return {"": (lambda: dashboard(sweep, live=None), [1, 2, 4, 8])}

Then ``python -m labkit.tools.bench --widgets "04 binarization"`` times it alone.
Builders use the cached sweeps and zoo checkpoints only (no training); latencies are measured
with few repeats, as the figure, not their value, is what is timed.
"""
from __future__ import annotations

import importlib

from .. import manifests

WIDGETS = {name: builder for _topic, name, builder in manifests.collect("WIDGETS")}


def build(name: str) -> dict:
    """``{label: (make, moves)}`` of the ``WIDGETS`` entry ``name`` (its data prepared)."""
    if name not in WIDGETS:
        raise ValueError(f"no widget {name!r} in labkit.ui.catalogue.WIDGETS; choose one of {list(WIDGETS)}")
    module, _, function = WIDGETS[name].partition(":")
    return getattr(importlib.import_module(module), function)()


def move(widget, selection):
    """Apply one move of a builder's ``moves`` list to ``widget``."""
    if isinstance(selection, tuple):
        return widget.select(*selection)
    if isinstance(selection, dict):
        return widget.select(**selection)
    return widget.select(selection)


# tests/browser/test_live_buttons.py sets this: every live button then runs a tiny live computation
# (no training: it returns at once) so that a browser can click each one; the bench leaves it off.
TINY_LIVE = False


def _no_live(*_args):
    raise RuntimeError("the benchmark does not train")


def _live(point=None, accuracy=None):
    """The live run a builder gives its widget's button: none in the bench (it does not train); with
    ``TINY_LIVE``, a tiny one that reports progress and returns ``point``'s measures (or ``accuracy``)."""
    def live(_setting, progress):
        if not TINY_LIVE:
            _no_live()
        progress(0.5, "tiny live run (browser test)")
        from ..points import MEASURES
        return accuracy if point is None else {k: point[k] for k in MEASURES}
    return live
