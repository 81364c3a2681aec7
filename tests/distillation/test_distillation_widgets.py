"""labkit.kd_widgets without a kernel: set a value, assert the label and a new PNG."""

import pytest
import torch

from labkit import data
from labkit import distillation as kd_widgets




def examples():
    images, labels = data.arrays("test")
    idx = [int((labels == c).nonzero()[0]) for c in (6, 0, 2, 4)]       # a shirt, a T-shirt, a pullover, a coat
    z = torch.tensor([[3.0, 0, 2.5, 0, 2.0, -3, 6.0, -3, 0, -3]] * 4)
    return z, images[idx], labels[idx]


def test_temperature_slider_redraws_and_describes(png_of):
    w = kd_widgets.temperature_widget(*examples(), start=1.0)
    before = png_of(w)
    assert w.label.value.startswith("T=1: top class 0.90")
    w.select(8.0)
    assert w.label.value.startswith("T=8: top class") and "entropy" in w.label.value
    assert png_of(w) != before
    top_1, top_8 = (float(s.split("top class ")[1].split()[0]) for s in (
        kd_widgets.describe_temperature(examples()[0], examples()[2], 1.0),
        kd_widgets.describe_temperature(examples()[0], examples()[2], 8.0)))
    assert top_8 < top_1                                               # softer at higher T
    w.slider.value = 0.5
    assert w.label.value.startswith("T=0.5")


def test_temperature_move_draws_the_same_image_as_a_fresh_figure(png_of):
    """The widget redraws only bars and title on the figure drawn once; nothing of the last T stays."""
    from labkit.distillation.figures import TemperaturePlot
    w = kd_widgets.temperature_widget(*examples(), start=1.0)
    w.select(8.0)
    w.select(2.5)
    assert png_of(w) == TemperaturePlot(*examples(), T=2.5).png(2.5)


def test_sweep_widget_live_button_says_how_long(fake_sweeps):
    w = kd_widgets.sweep_widget(fake_sweeps, live=lambda setting, progress: 81.0, live_seconds=130)
    assert w.button.description == "distil (~2.2 min, estimated)"
    w.button.click()
    assert w.button.description == "distil (under 1 s, as the last run)"


def test_temperature_widget_refuses_mismatched_lengths():
    z, im, y = examples()
    with pytest.raises(ValueError, match="same non-zero length"):
        kd_widgets.temperature_widget(z[:2], im, y)


def test_sweep_widget_switches_sweeps_and_settings(fake_sweeps, png_of):
    w = kd_widgets.sweep_widget(fake_sweeps)
    assert w.kind.value == "temperature" and w.button.disabled
    before = png_of(w)
    w.select("temperature", 4)
    assert w.label.value.startswith("T=4: validation 84.00 +- 1.41 %") and "gain +3.50 pt" in w.label.value
    assert png_of(w) != before
    w.kind.value = "feature"
    assert w.label.value.startswith("AT beta=1000: validation 81.50")
    w.select("budget", 500)
    assert "images=500" in w.label.value and "student alone 70.50 %" in w.label.value
    with pytest.raises(ValueError, match="choose one of"):
        w.select("temperature", 3)


def test_sweep_widget_live_run_adds_a_point_and_reports_errors(fake_sweeps):
    seen = []

    def live(setting, progress):
        seen.append(setting)
        progress(0.5, "half way")
        return 85.5

    w = kd_widgets.sweep_widget(fake_sweeps, live=live)
    w.select("alpha", 0.9)
    assert w.run_live() == 85.5 and seen == [{"T": 4, "alpha": 0.9}]
    assert w.progress.value == 1.0 and "live: 85.50 %" in w.label.value

    def broken(setting, progress):
        raise RuntimeError("out of memory\nmore")
    w.live = broken
    assert w.run_live() is None and w.label.value == "error: RuntimeError: out of memory"
    assert not w.button.disabled
