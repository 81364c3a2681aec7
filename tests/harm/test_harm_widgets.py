"""Notebook 10's explorer: a model dropdown and a generator sparsity slider over precomputed results."""
import pytest
import torch

from labkit.harm import damage, widgets


def _summary():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (400,), generator=g)
    base = {"pred": y.clone(), "conf": torch.rand(400, generator=g) * 0.5 + 0.5, "accuracy_pct": 100.0,
            "corruption_acc": {k: [90.0, 70.0, 40.0] for k in ("noise", "blur", "contrast", "rotation", "occlusion")},
            "config": {"seed": None}}
    out = {"cnn": damage.member_summary([base], base, y)}
    for name, lost in (("prune-80", 3), ("w4", 5)):
        rows = []
        for s in (0, 1):
            p = y.clone()
            p[(y == lost).nonzero()[: 10 + s].flatten()] = (lost + 1) % 10
            rows.append({**base, "pred": p, "config": {"seed": s},
                         "corruption_acc": {k: [88.0 - s, 60.0, 30.0] for k in base["corruption_acc"]}})
        out[name] = damage.member_summary(rows, base, y)
    return out


def test_explorer_moves_model_and_generator(png_of):
    grids = {0.0: torch.rand(36, 28, 28), 0.5: torch.rand(36, 28, 28)}
    w = widgets.explorer(_summary(), grids, {0.0: 300.0, 0.5: 320.5}, [1, 3, 5])
    first = png_of(w)
    w.select(model="w4")
    assert w.label.value.startswith("w4 (2 seeds)") and "worst class Sandal" in w.label.value
    assert png_of(w) != first
    gen_first = w.gen_out.outputs[0]["data"]["image/png"]
    w.select(sparsity=0.5)
    assert "sparsity 50%: Fréchet distance 320.5" in w.gen_label.value
    assert w.gen_out.outputs[0]["data"]["image/png"] != gen_first
    with pytest.raises(ValueError, match="choose one of"):
        w.select(model="magic")
    with pytest.raises(ValueError, match="was not precomputed"):
        w.select(sparsity=0.7)
