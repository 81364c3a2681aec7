"""Notebook 04's explorer: the slider moves over the cached trainings and redraws."""
import pytest

from labkit.binarization import architecture, widgets
from labkit.models import baseline_cnn


def _pt(technique, layers, seed, acc, nbytes, ms):
    return {"config": {"model": "cnn", "technique": technique, "layers": layers, "seed": seed},
            "technique": technique, "accuracy_pct": acc, "size_bytes": nbytes, "macs": 7_748_608, "latency_ms": ms}


def test_dashboard_moves_over_variants_and_marks_the_baseline(png_of):
    timed = [_pt("fp32", [], 0, 92.93, 1_564_328, 0.9), _pt("bwn", ["conv2", "conv3", "fc1"], 0, 92.4, 66_216, 0.9),
             _pt("xnor", ["conv2", "conv3", "fc1"], 0, 88.8, 66_216, 1.5), _pt("xnor", ["conv2", "conv3", "fc1"], 1, 88.7, 66_216, 1.5)]
    w = widgets.dashboard(timed, 0.9)
    before = png_of(w)
    w.select("xnor: conv2+conv3+fc1")
    assert "accuracy 88.80 %" in w.label.value and "vs baseline: -4.13 pt" in w.label.value
    assert png_of(w) != before
    with pytest.raises(ValueError, match="fp32 row"):
        widgets.dashboard(timed[1:], 0.9)


def test_architecture_is_the_packed_form():
    from labkit.binarization import kernels
    p = {"config": {"model": "cnn", "technique": "xnor", "layers": ["fc1"]}}
    m = architecture(p)
    assert isinstance(m.get_submodule("13"), kernels.PackedLinear)
    assert type(architecture({"config": {"model": "cnn", "technique": "fp32", "layers": []}})) is type(baseline_cnn())
