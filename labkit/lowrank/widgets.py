"""Notebook 06's dashboard: energy kept per layer group -> accuracy / size / measured latency, on
``labkit.ui.widgets.tradeoff_dashboard`` (one per group, in tabs), with a live fine-tune button."""
from __future__ import annotations


def dashboard(groups: dict[str, list[dict]], baseline=None, live: dict | None = None):
    """One tradeoff dashboard per layer group (``{group: points}``, each point's ``config["keep"]``
    the energy kept), in tabs; ``live[group](keep, progress) -> point`` behind its button."""
    import ipywidgets as widgets
    from ..ui.widgets import tradeoff_dashboard
    live = live or {}
    dashes = [tradeoff_dashboard(pts, "keep", baseline=baseline, live=live.get(g), title=f"{g}: energy kept")
              for g, pts in groups.items()]
    tabs = widgets.Tab(children=dashes)
    for i, g in enumerate(groups):
        tabs.set_title(i, g)
    tabs.dashboards = dict(zip(groups, dashes))
    return tabs
