"""labkit.compact: resolution multiplier, the sweep recipe (resumable cache), and the explorer
widget without a kernel (set a selector, assert the label changed and a new PNG was drawn)."""
import importlib
import json

import pytest
import torch

from labkit import cache, compact, metrics, models
compact_sweep = importlib.import_module("labkit.compact.sweep")


def test_resized_changes_what_the_network_sees():
    full, small = compact_sweep.sweep_model("ir", 1.0, 28), compact_sweep.sweep_model("ir", 1.0, 14)
    assert isinstance(small, compact_sweep.Resized) and not isinstance(full, compact_sweep.Resized)
    assert small(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert metrics.count_params(small) == metrics.count_params(full)
    assert 0.2 < metrics.count_macs(small) / metrics.count_macs(full) < 0.4      # ~ (14/28)^2, plus rounding
    with pytest.raises(ValueError, match="resolution must be"):
        compact_sweep.Resized(full, 4)
    with pytest.raises(ValueError, match="unknown block 'xx'"):
        compact_sweep.sweep_model("xx")


def test_grid_covers_every_block_width_and_resolution():
    g = compact_sweep.grid()
    assert len(g) == len(compact_sweep.SWEEP_BLOCKS) * len(compact_sweep.SWEEP_WIDTHS) * len(compact_sweep.SWEEP_RESOLUTIONS)
    assert {c["block"] for c in g} == set(compact_sweep.SWEEP_BLOCKS)


def test_train_point_measures_a_tiny_run():
    p = compact_sweep.train_point({"block": "ds", "width": 0.5, "resolution": 14}, recipe={"epochs": 1}, limit=512)
    assert p["config"] == {"block": "ds", "width": 0.5, "resolution": 14} and 0 <= p["accuracy_pct"] <= 100
    assert p["size_bytes"] > 4 * p["params"] - 1 and p["macs"] > 0 and p["recipe"]["limit"] == 512


def test_sweep_command_keeps_each_point_and_resumes_an_interrupted_run(tmp_path, monkeypatch):
    sweep_module = importlib.import_module("labkit.compact.sweep")
    calls, stop = [], ["ds"]

    def fake(cfg, recipe=None, limit=None, progress=None, eval_limit=None):
        if cfg["block"] in stop:
            raise KeyboardInterrupt                                  # the run is interrupted here
        calls.append(cfg)
        return {"config": dict(cfg), "accuracy_pct": 80.0 + cfg["width"], "size_bytes": 100, "macs": 10,
                "params": 25, "train_seconds": 0.0, "recipe": {**recipe, "limit": limit}}

    monkeypatch.setattr(sweep_module, "train_point", fake)
    cfgs = compact.grid(blocks=("ir", "ds"), widths=(0.5,), resolutions=(28,))
    grid = {"blocks": ["ir", "ds"], "widths": [0.5], "resolutions": [28]}
    path = tmp_path / "sweep.json"
    with pytest.raises(KeyboardInterrupt):
        cache.run("compact", path, log=lambda *a: None, **grid)
    assert not path.exists()                                         # a half-done sweep is never the cache ...
    partial = cache.partial_path(path)
    assert [p["config"] for p in json.loads(partial.read_text())["rows"]] == cfgs[:1]   # ... its points are kept
    stop.clear()
    doc = cache.run("compact", path, log=lambda *a: None, **grid)   # resumes: trains only the missing one
    assert calls == cfgs and [p["config"] for p in doc["rows"]] == cfgs and not partial.exists()
    s = compact.load_sweep(path)
    assert s["command"] == "python -m labkit sweep compact" and s["recipe"] == sweep_module.SWEEP_RECIPE
    assert s["points"] == doc["rows"] and {"torch", "threads", "created"} <= set(s)
    with pytest.raises(FileNotFoundError, match="python -m labkit sweep compact"):
        compact.load_sweep(tmp_path / "none.json")


def test_shipped_sweep_covers_the_grid():
    sweep_module = importlib.import_module("labkit.compact.sweep")
    s = compact.load_sweep()
    assert [p["config"] for p in s["points"]] == compact.grid() and s["recipe"] == sweep_module.SWEEP_RECIPE
    assert all(0 < p["accuracy_pct"] <= 100 and p["recipe"]["limit"] is None for p in s["points"])


def test_retime_adds_a_time_to_every_point_beside_the_baseline():
    pts = [{"config": {"block": "ds", "width": 0.5, "resolution": 14}, "accuracy_pct": 80.0},
           {"config": {"block": "ir", "width": 0.5, "resolution": 28}, "accuracy_pct": 85.0}]
    out, base_ms = compact.retime(pts, models.baseline_cnn(), batch_size=4, repeats=2)
    assert [p["accuracy_pct"] for p in out] == [80.0, 85.0] and all(p["latency_ms"] > 0 for p in out)
    assert "latency_ms" not in pts[0] and base_ms > 0

def pt(block, width, res, acc, size, ms, macs):
    return {"config": {"block": block, "width": width, "resolution": res}, "accuracy_pct": acc,
            "size_bytes": size, "latency_ms": ms, "macs": macs}


def points():
    return [pt("ir", 0.5, 14, 85.0, 80_000, 0.5, 200_000), pt("ir", 1.0, 28, 90.5, 240_000, 1.5, 2_300_000),
            pt("ir", 0.5, 28, 88.0, 80_000, 0.9, 680_000), pt("ds", 1.0, 28, 89.0, 70_000, 0.6, 500_000)]




def test_explorer_selectors_update_label_and_png(png_of):
    base = pt("cnn", 1.0, 28, 92.9, 1_562_000, 1.0, 7_700_000)
    ex = compact.sweep_explorer(points(), baseline=base)
    assert ex.config == {"block": "ds", "width": 1.0, "resolution": 28}     # names sorted, numbers at the top value
    assert ex.label.value.startswith("block=ds, width=1.0, resolution=28: accuracy 89.00 %")
    assert "-3.90 pt, 22.3x smaller, 1.7x faster" in ex.label.value
    before = png_of(ex)
    ex.selectors["block"].value = "ir"
    assert ex.label.value.startswith("block=ir, width=1.0, resolution=28: accuracy 90.50 %")
    after = png_of(ex)
    assert after != before
    ex.selectors["width"].value = 0.5
    ex.selectors["resolution"].value = 14
    assert "accuracy 85.00 %" in ex.label.value and png_of(ex) != after


def test_explorer_select_and_missing_points():
    ex = compact.sweep_explorer(points())
    assert ex.select(block="ds", width=0.5, resolution=14) is None
    assert ex.label.value == "block=ds, width=0.5, resolution=14: not in the sweep"
    assert ex.select(block="ir", width=0.5, resolution=28)["accuracy_pct"] == 88.0
    with pytest.raises(ValueError, match=r"choose one of \[0.5, 1.0\]"):
        ex.select(width=0.75)
    with pytest.raises(ValueError, match="not a swept parameter"):
        ex.select(depth=3)
    with pytest.raises(ValueError, match="no 'depth' in its config"):
        compact.sweep_explorer(points(), params=("block", "depth"))


def test_explorer_live_training_replaces_the_point_and_reports_errors(png_of):
    seen = []

    def live(cfg, progress):
        progress(0.5)
        seen.append(ex.progress.value)
        return pt(cfg["block"], cfg["width"], cfg["resolution"], 86.5, 30_000, 0.4, 60_000)

    ex = compact.sweep_explorer(points(), live=live)
    ex.select(block="ds", width=0.5, resolution=14)
    before = png_of(ex)
    ex.button.click()
    assert seen == [0.5] and ex.progress.value == 1.0
    assert ex.current["label"] == "live" and "accuracy 86.50 %" in ex.label.value and png_of(ex) != before
    assert len(ex.points) == 5
    ex.run_live()                                          # again: replaced, not appended
    assert len(ex.points) == 5

    def broken(cfg, progress):
        raise RuntimeError("out of memory\ndetails")

    ex2 = compact.sweep_explorer(points(), live=broken)
    assert ex2.run_live() is None and ex2.label.value == "error: RuntimeError: out of memory"
    assert not ex2.button.disabled and len(ex2.points) == 4
    with pytest.raises(RuntimeError, match="no live computation"):
        compact.sweep_explorer(points()).run_live()
