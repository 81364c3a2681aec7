"""Notebook 06's dashboard: tabs of labkit.ui.widgets dashboards over energy kept, live button."""
from labkit import lowrank


def _pt(keep, acc, size, ms, group):
    return {"config": {"keep": keep, "group": group}, "accuracy_pct": acc, "size_bytes": size, "macs": 1000 * size,
            "latency_ms": ms}


def test_dashboard_tabs_slider_and_live(png_of):
    groups = {"convs": [_pt(0.5, 80.0, 100, 1.0, "convs"), _pt(0.9, 90.0, 300, 2.0, "convs")],
              "FC": [_pt(0.5, 85.0, 200, 1.5, "FC"), _pt(0.9, 91.0, 400, 2.5, "FC")]}
    base = _pt(1.0, 92.0, 1000, 3.0, "none")
    calls = []

    def live(keep, progress):
        calls.append(keep)
        progress(0.5, "half")
        return _pt(keep, 89.5, 300, 1.9, "convs")

    tabs = lowrank.dashboard(groups, baseline=base, live={"convs": live})
    assert set(tabs.dashboards) == {"convs", "FC"} and tabs.get_title(1) == "FC"
    fc = tabs.dashboards["FC"]
    first = png_of(fc)
    fc.select(0.9)
    assert fc.label.value.startswith("keep=0.9: accuracy 91.00 %") and "vs baseline: -1.00 pt" in fc.label.value
    assert png_of(fc) != first
    assert fc.button.disabled                      # no live computation for this group
    convs = tabs.dashboards["convs"]
    convs.select(0.9)
    point = convs.run_live()
    assert calls == [0.9] and point["label"] == "live" and "89.50 %" in convs.label.value
