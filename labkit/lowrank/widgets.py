"""Notebook 06's dashboard: energy kept per layer group -> accuracy / size / measured latency, on
``labkit.ui.widgets.tradeoff_dashboard`` (one per group, in tabs), with a live fine-tune button."""
from __future__ import annotations


def dashboard(groups: dict[str, list[dict]], baseline=None, live: dict | None = None):
    """One tradeoff dashboard per layer group (``{group: points}``, each point's ``config["keep"]``
    the energy kept), in tabs; ``live[group](keep, progress) -> point`` behind its button."""
    import ipywidgets as widgets
    from ..ui.widgets import Tabs, tradeoff_dashboard
    live = live or {}
    dashes = [tradeoff_dashboard(pts, "keep", baseline=baseline, live=live.get(g), title=f"{g}: energy kept")
              for g, pts in groups.items()]
    tabs = Tabs(children=dashes)     # static renderings show the first tab's figure
    for i, g in enumerate(groups):
        tabs.set_title(i, g)
    tabs.dashboards = dict(zip(groups, dashes))
    return tabs


KEEPS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
GROUPS = {"convs 4, 8 (Tucker-2)": ["4", "8"], "FC 13 (SVD)": ["13"]}


def bench_widgets():
    """For ``labkit.ui.catalogue``: the notebook's dashboard over the CNN factorized at each energy
    kept, per layer group (no fine-tuning; accuracy on the first 1,000 test images, latency briefly)."""
    from .. import points, zoo
    from ..train import evaluate
    from .layers import factorize
    from .select import energy_ranks
    cnn = zoo.load("cnn")
    models = {f"{g} {k}": factorize(cnn, energy_ranks(cnn, k, names)) for g, names in GROUPS.items() for k in KEEPS}
    acc = {name: evaluate(m, limit=1000) for name, m in {"cnn": cnn, **models}.items()}
    pts = points.measure({"cnn": cnn, **models}, batch_size=1, accuracy=acc, repeats=2)
    groups = {g: [{**pts[f"{g} {k}"].as_dict(), "config": {"keep": k, "group": g}} for k in KEEPS] for g in GROUPS}
    base = {**pts["cnn"].as_dict(), "config": {"keep": 1.0, "group": "cnn"}}
    from ..ui.catalogue import _live          # the bench does not train; the browser test's tiny run does
    return {g: (lambda g=g: dashboard({g: groups[g]}, baseline=base, live={g: _live(base)}).dashboards[g], list(KEEPS))
            for g in GROUPS}
