"""Notebook 04's explorer: a slider over the cached trainings (technique and binarized layers),
showing accuracy vs packed bytes vs the measured latency of each packed path, the fp32 baseline
marked. Built on ``labkit.ui.widgets.tradeoff_dashboard``."""
from __future__ import annotations

from ..ui import widgets as ui

TITLE = "binarized CNN: accuracy vs packed bytes vs latency"


def variant(config: dict) -> str:
    """The slider's label of a point: ``"xnor: conv2+conv3+fc1"`` (``"fp32"`` for the baseline)."""
    return "fp32" if config["technique"] == "fp32" else f"{config['technique']}: {'+'.join(config['layers'])}"


def variants(timed: list[dict]) -> list[dict]:
    """Timed cached points (``sweep.retime``) as dashboard points: ``config["variant"]``, a seed label."""
    return [{**p, "config": {**p["config"], "variant": variant(p["config"])}, "label": f"seed {p['config'].get('seed', '-')}"}
            for p in timed]


def dashboard(timed: list[dict], baseline_ms: float, title: str = TITLE) -> ui.Dashboard:
    """The explorer over ``timed`` points of one model, its fp32 row (latency ``baseline_ms``) marked."""
    pts = variants(timed)
    fp32 = [p for p in pts if p["config"]["technique"] == "fp32"]
    if not fp32:
        raise ValueError("the points hold no fp32 row: pass the cached sweep's points of one model, fp32 row included")
    base = {**fp32[0], "config": {"variant": "fp32"}, "latency_ms": baseline_ms}
    return ui.tradeoff_dashboard(pts, "variant", baseline=base, title=title)


def bench_widgets():
    """For ``labkit.ui.catalogue``: the explorer over the cached CNN trainings, latencies re-measured briefly."""
    from .. import zoo
    from .sweep import load_sweep, retime
    cnn = [p for p in load_sweep()["points"] if p["config"]["model"] == "cnn"]
    timed, base_ms = retime(cnn, zoo.load("cnn"), repeats=2)
    values = list(dict.fromkeys(variant(p["config"]) for p in timed))
    return {"": (lambda: dashboard(timed, base_ms), values)}
