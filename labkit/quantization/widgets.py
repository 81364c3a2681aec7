"""The quantization notebook's widget, as the bench and the browser tests build it."""
from __future__ import annotations


def bench_widgets():
    """For ``labkit.ui.catalogue``, notebook 03: ``tradeoff_dashboard`` over the cached mixed-precision
    sweep (uniform and mixed points), latency as the notebook's cell gives it (the folded fp32 model:
    the sweep's models are simulated)."""
    from ..ui.catalogue import _live          # the bench does not train; the browser test's tiny run does
    from .. import metrics, quantization, size, zoo
    from ..train import evaluate
    cache = quantization.load_mixed()
    baseline = zoo.load("cnn")
    lat = metrics.compare_latency({"cnn": baseline, "folded": quantization.fold_batchnorm(baseline)}, repeats=5)
    sim = lat["folded"].median_ms
    pts = [{**p, "latency_ms": sim, "label": p["config"]["allocation"]} for p in cache["points"]]
    fp32 = {"config": {"avg_bits": 32}, "accuracy_pct": evaluate(baseline), "size_bytes": size.size_bytes(baseline, "fp32"),
            "macs": metrics.count_macs(baseline), "latency_ms": lat["cnn"].median_ms}
    from ..ui.widgets import tradeoff_dashboard
    return {"": (lambda: tradeoff_dashboard(pts, "avg_bits", baseline=fp32, live=_live(fp32),
                                            live_values=[2.1, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5, 4.0, 5.0, 6.0],
                                            title="mixed precision under a size budget (weights only)"),
                 sorted({p["config"]["avg_bits"] for p in pts}))}
