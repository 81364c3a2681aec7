"""labkit.quant_figures: every figure renders without pyplot, from the lab's own functions."""
import math

import torch

from labkit.quantization import quant
from labkit.quantization import figures as qf
from labkit.ui.plots import figure_png


def test_sqnr():
    x = torch.randn(100)
    assert qf.sqnr_db(x, x) == math.inf
    assert abs(qf.sqnr_db(x, x * 0.9) - 20.0) < 1e-4                     # noise 0.1 x: 20 dB


def test_figures_render():
    w = torch.randn(16, 4, 3, 3)
    figs = [qf.channel_ranges_figure(w, 4), qf.grid_figure(w, 3),
            qf.ste_figure(quant.fake_quantize_ste),
            qf.bits_figure({"a": [(8, 92.0), (4, 90.0)]}, baseline=92.5, title="t"),
            qf.sensitivity_figure({"0": {8: 0.0, 2: 0.3}, "4": {8: 0.001, 2: 0.02}})]
    for f in figs:
        assert figure_png(f).startswith(b"\x89PNG")
