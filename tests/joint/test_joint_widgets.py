"""Notebook 08's byte-budget dashboard: the slider and the model dropdown move over precomputed runs."""
from labkit import joint


def _run(target, acc, size, ms):
    return {"target_bytes": target, "accuracy_pct": acc, "size_bytes": size, "latency_ms": ms,
            "config": {"allocation": {"0": "s0.5/b4", "3": "s0.9/b3"}},
            "stages": {"fp32": 100_000, "pruned": 20_000, "shared": 5_000, "coded": size}}


def test_dashboard_moves(png_of):
    runs = {"cnn": [_run(4000, 90.0, 3900, 1.0), _run(2000, 88.5, 1950, 1.0)], "lenet5": [_run(3000, 89.0, 2900, 0.5)]}
    base = {"cnn": {"accuracy_pct": 92.0, "size_bytes": 100_000, "latency_ms": 1.0},
            "lenet5": {"accuracy_pct": 91.0, "size_bytes": 50_000, "latency_ms": 0.4}}
    d = joint.dashboard(runs, base)
    first = png_of(d)
    d.select(4000)
    assert "file 3,900 bytes (26x smaller)" in d.label.value and "+-2.00 pt" not in d.label.value
    assert "-2.00 pt" in d.label.value and "0: s0.5/b4" in d.label.value
    assert png_of(d) != first
    d.select(3000, model="lenet5")
    assert d.label.value.startswith("lenet5, budget") and "89.00 %" in d.label.value
