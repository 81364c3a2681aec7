"""The roofline's intensities are exact counts; its rates are positive measurements."""
import pytest
from torch import nn

from labkit.compact import roofline


def test_layers_are_counted_exactly():
    pts = {p["layer"]: p for p in roofline.layer_points(channels=8, resolution=6, repeats=2)}
    dw = pts["depthwise 3x3, 8 ch"]
    assert dw["flops"] == 2 * 9 * 8 * 36 and dw["bytes"] == 4 * (8 * 36 + 8 * 9 + 8 * 36)
    lin = pts["Linear 64->64, batch 256"]
    assert lin["flops"] == 2 * 256 * 64 * 64 and lin["bytes"] == 4 * (256 * 64 + 64 * 64 + 256 * 64)
    assert lin["intensity"] == pytest.approx(lin["flops"] / lin["bytes"])
    assert all(p["flops_per_s"] > 0 and p["latency_ms"] > 0 for p in pts.values())


def test_peak_and_bandwidth_are_rates_and_the_figure_draws():
    peak, bw = roofline.peak_flops(n=128, repeats=2), roofline.bandwidth(mib=4, repeats=2)
    assert peak > 1e7 and bw > 1e7
    fig = roofline.figure(roofline.layer_points(channels=8, resolution=6, repeats=2), peak, bw)
    assert len(fig.axes) == 1
