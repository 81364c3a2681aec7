"""The widget benchmark: every catalogue entry resolves, and a bench row holds what the table shows
(times are reported by `make bench`, never asserted)."""
import importlib

import pytest

from labkit.tools import bench
from labkit.ui import catalogue
from labkit.ui.widgets import tradeoff_dashboard


@pytest.mark.parametrize("name", list(catalogue.WIDGETS))
def test_every_catalogue_entry_names_a_builder(name):
    module, _, function = catalogue.WIDGETS[name].partition(":")
    assert callable(getattr(importlib.import_module(module), function)), name


def sweep():
    return [{"accuracy_pct": a, "size_bytes": s, "latency_ms": 1.0, "macs": m, "config": {"width": w}}
            for w, a, s, m in ((0.25, 81.5, 12_000, 300_000), (0.5, 89.1, 46_000, 2_000_000), (1.0, 92.4, 190_000, 8_000_000))]


def fake_builder():
    def live(value, progress):
        raise RuntimeError("not in the bench")
    return {"a": (lambda: tradeoff_dashboard(sweep(), "width", live=live), [0.25, 0.5, 1.0]),
            "b": (lambda: tradeoff_dashboard(sweep(), "width"), [0.25, 1.0])}


def test_one_entry_adds_a_widget_to_the_bench(monkeypatch):
    monkeypatch.setattr(catalogue, "fake_builder", fake_builder, raising=False)
    monkeypatch.setattr(catalogue, "WIDGETS", {"99 fake": "labkit.ui.catalogue:fake_builder"})
    rows = bench.bench_widgets(moves=5)
    assert [r["widget"] for r in rows] == ["99 fake: a", "99 fake: b"]
    for r in rows:
        assert r["moves"] == 5 and 0 < r["median_s"] <= r["worst_s"] and r["first_visit_worst_s"] <= r["worst_s"]
    assert rows[0]["feedback_s"] is not None and rows[1]["feedback_s"] is None     # b has no live button
    table = bench.widget_table(rows)
    assert "99 fake: a" in table and "median_s" in table
    with pytest.raises(ValueError, match="choose one of"):
        catalogue.build("nope")


def test_a_real_entry_builds_and_moves():
    rows = bench.bench_widgets(["05 distillation sweeps"], moves=3)
    assert len(rows) == 1 and rows[0]["feedback_s"] is not None
