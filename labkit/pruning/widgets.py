"""Notebook 02's dashboard over the cached pruning sweep, with a live prune-and-fine-tune button.
"""
from __future__ import annotations

from .. import validate


def dashboard(sweep_data: dict, params: dict | None = None, live: dict | None = None,
              live_values: dict | None = None, baseline=None, live_seconds: dict | None = None):
    """One ``labkit.ui.widgets.tradeoff_dashboard`` per method, in tabs: a slider over that method's
    sweep (``params[method]`` is the config key it moves over, default ``"sparsity"``), and
    ``live[method](value, progress)`` behind its button (``live_seconds[method]``: how long it takes)."""
    import ipywidgets as widgets
    from ..ui.widgets import Tabs, tradeoff_dashboard
    params, live, live_values, live_seconds = params or {}, live or {}, live_values or {}, live_seconds or {}
    base = baseline if baseline is not None else sweep_data.get("baseline")
    methods = list(sweep_data["methods"])
    for m in list(params) + list(live) + list(live_seconds):
        validate.choice(m, methods, "method")
    dashes = [tradeoff_dashboard(sweep_data["methods"][m], params.get(m, "sparsity"), baseline=base,
                                 live=live.get(m), live_values=live_values.get(m), title=m,
                                 live_seconds=live_seconds.get(m))
              for m in methods]
    tabs = Tabs(children=dashes)     # static renderings show the first tab's figure
    for i, m in enumerate(methods):
        tabs.set_title(i, m)
    tabs.dashboards = dict(zip(methods, dashes))
    return tabs


def bench_widgets():
    """For ``labkit.ui.catalogue``, notebook 02: ``pruning.dashboard``, one tab per method over the
    cached pruning sweep."""
    from ..ui.catalogue import _live          # the bench does not train; the browser test's tiny run does
    from .. import pruning, zoo
    sweep = pruning.retime(pruning.load_sweep(), zoo.load("cnn"), repeats=3)
    methods = ("prune-fine", "prune-channel", "prune-joint")
    params = {"prune-channel": "ratio"}

    def tab(method):      # the notebook's three tabs, built together; this one is timed
        return lambda: pruning.dashboard(sweep, params=params,
                                         live={m: _live(sweep["methods"][m][0]) for m in methods}).dashboards[method]
    return {m: (tab(m), sorted({p["config"][params.get(m, "sparsity")] for p in sweep["methods"][m]}))
            for m in methods}
