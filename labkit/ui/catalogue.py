"""Every widget of the lab, built from its cached sweep the way its notebook builds it, for the
move-latency benchmark (``python -m labkit.tools.bench --widgets``, ``make bench``).

Adding a notebook's widget is one entry in ``WIDGETS``: a name and ``"module:function"`` of a
builder that lives next to the widget (or here, below). A builder takes no argument, prepares
the data as the notebook does (cached sweep, zoo checkpoints) and returns ``{label: (make,
moves)}``, one item per widget (e.g. the tabs of 02; label "" for a lone widget): ``make()``
builds the widget exactly as the notebook's cell does (the bench times it), ``moves`` is the
list of selections a lecturer would drag through, each passed to ``widget.select``: a value
(``select(v)``), a tuple (``select(*t)``) or a dict (``select(**d)``). The bench cycles through
``moves`` for 20 moves, so list them in slider order. E.g. notebook 04, in ``WIDGETS``::

    "04 binarization": "labkit.binarization.widgets:bench_widgets",

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

WIDGETS = {
    "00 compact width": "labkit.ui.catalogue:compact_width",
    "01 compact explorer": "labkit.ui.catalogue:compact_explorer",
    "02 pruning": "labkit.ui.catalogue:pruning_tabs",
    "03 mixed precision": "labkit.ui.catalogue:mixed_precision",
    "04 binarization": "labkit.binarization.widgets:bench_widgets",
    "05 temperature": "labkit.ui.catalogue:temperature",
    "05 distillation sweeps": "labkit.ui.catalogue:distillation_sweeps",
    "06 low rank": "labkit.lowrank.widgets:bench_widgets",
    "07 nas": "labkit.nas.widgets:bench_widgets",
    "08 joint byte budget": "labkit.joint.widgets:bench_widgets",
    "09 explorer": "labkit.explorer.widgets:bench_widgets",
    "10 harm": "labkit.harm.widgets:bench_widgets",
}


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


# ------------------------------------------------------------------ the notebooks' widgets
def compact_width():
    """00: ``tradeoff_dashboard`` over the compact net's widths, the CNN as baseline (batch 1)."""
    from .. import compact, points, zoo
    from .widgets import tradeoff_dashboard
    sweep, models = compact.compact_width_sweep(batch_size=1, repeats=5)
    cnn = points.measure({"cnn": zoo.load("cnn"), **models}, batch_size=1, repeats=5)["cnn"]
    cnn_point = {"config": {"width": "cnn"}, **cnn.as_dict()}
    return {"": (lambda: tradeoff_dashboard(sweep, "width", baseline=cnn_point, live=_live(cnn_point),
                                            live_values=[0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.5],
                                            title="compact net: width multiplier (batch-1 latency)"),
                 [0.25, 0.5, 0.75, 1.0])}


def compact_explorer():
    """01: ``compact.sweep_explorer`` over the 36-point block x width x resolution grid."""
    from .. import compact, zoo
    from ..train import evaluate
    sweep = compact.load_sweep()
    cnn = zoo.load("cnn")
    pts, cnn_ms = compact.retime(sweep["points"], cnn, batch_size=32, repeats=2)
    from .. import metrics, size
    cnn_point = {"config": {"block": "cnn", "width": 1.0, "resolution": 28}, "accuracy_pct": evaluate(cnn),
                 "size_bytes": size.size_bytes(cnn, "fp32"), "macs": metrics.count_macs(cnn), "latency_ms": cnn_ms}
    blocks = list(dict.fromkeys(p["config"]["block"] for p in pts))
    moves = [{"block": b, "width": w, "resolution": r} for b in blocks for w, r in ((1.0, 28), (0.5, 20))]
    return {"": (lambda: compact.sweep_explorer(pts, baseline=cnn_point, live=_live(cnn_point),
                                                title="compact nets on Fashion-MNIST (cached accuracy; latency now, batch 32)"),
                 moves)}


def pruning_tabs():
    """02: ``pruning.dashboard``, one tab per method over the cached pruning sweep."""
    from .. import pruning, zoo
    sweep = pruning.retime(pruning.load_sweep(), zoo.load("cnn"), repeats=3)
    methods = ("prune-fine", "prune-channel", "prune-joint")
    params = {"prune-channel": "ratio"}

    def tab(method):      # the notebook's three tabs, built together; this one is timed
        return lambda: pruning.dashboard(sweep, params=params,
                                         live={m: _live(sweep["methods"][m][0]) for m in methods}).dashboards[method]
    return {m: (tab(m), sorted({p["config"][params.get(m, "sparsity")] for p in sweep["methods"][m]}))
            for m in methods}


def mixed_precision():
    """03: ``tradeoff_dashboard`` over the cached mixed-precision sweep (uniform and mixed points)."""
    from .. import metrics, quantization, size, zoo
    from ..train import evaluate
    cache = quantization.load_mixed()
    baseline = zoo.load("cnn")
    lat = metrics.compare_latency({"cnn": baseline, "folded": quantization.fold_batchnorm(baseline)}, repeats=5)
    sim = lat["folded"].median_ms
    pts = [{**p, "latency_ms": sim, "label": p["config"]["allocation"]} for p in cache["points"]]
    fp32 = {"config": {"avg_bits": 32}, "accuracy_pct": evaluate(baseline), "size_bytes": size.size_bytes(baseline, "fp32"),
            "macs": metrics.count_macs(baseline), "latency_ms": lat["cnn"].median_ms}
    from .widgets import tradeoff_dashboard
    return {"": (lambda: tradeoff_dashboard(pts, "avg_bits", baseline=fp32, live=_live(fp32),
                                            live_values=[2.1, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5, 4.0, 5.0, 6.0],
                                            title="mixed precision under a size budget (weights only)"),
                 sorted({p["config"]["avg_bits"] for p in pts}))}


def temperature():
    """05: ``distillation.temperature_widget`` on four test images of the teacher ``cnn``."""
    import torch
    from .. import data, distillation, zoo
    teacher = zoo.load("cnn")
    images, labels = data.arrays("test")
    examples = [int((labels == c).nonzero()[0]) for c in (6, 0, 2, 4)]
    with torch.inference_mode():
        logits = teacher(data.normalize(images[examples]))
    return {"": (lambda: distillation.temperature_widget(logits, images[examples], labels[examples], start=4.0),
                 [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 12.0, 6.0, 3.0, 1.5])}


def distillation_sweeps():
    """05: ``distillation.sweep_widget`` over the cached sweeps (dropdown + slider)."""
    from .. import distillation
    sweeps = distillation.load_sweeps()
    from ..distillation.sweep import SWEEP_PARAM
    kinds = [k for k in SWEEP_PARAM if k in sweeps["sweeps"]]
    moves = [(k, r["value"]) for k in kinds for r in distillation.sweep_rows(sweeps, k)]
    return {"": (lambda: distillation.sweep_widget(sweeps, live=_live(accuracy=80.0)), moves)}
