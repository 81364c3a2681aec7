"""One representative model per family, rebuilt by labkit from the zoo's checkpoints without any
training, and measured side by side in one run: the records' latencies come from many runs, these
come from one, so their ratios are comparable with each other.

``REBUILD`` maps a family to a builder ``(baseline) -> (name, model, how)``; ``how`` is a dict of
``points.measure`` options for that model (``storage``, ``nonzero``) and ``approx=True`` when its
accuracy depends on this CPU's rounding. Families that need training (binary, distill, nas, joint)
have no builder: their points are the records'.
"""
from __future__ import annotations

import tempfile

from .. import verify

PRUNE_SPARSITY = 0.7
LOWRANK_KEEP = 0.9


def _compact(_cnn):
    from .. import zoo
    return "compact-w0.5", zoo.load("compact-w0.5"), {"technique": "compact-width", "config": {"model": "compact-w0.5"}}


def _prune(cnn):
    import copy
    from ..pruning import apply_masks_, global_magnitude_masks
    m = copy.deepcopy(cnn)
    apply_masks_(m, global_magnitude_masks(m, PRUNE_SPARSITY))
    return (f"cnn pruned {PRUNE_SPARSITY:.0%} (global magnitude)", m,
            {"storage": "sparse-csr", "nonzero": True, "technique": "prune-oneshot",
             "config": {"sparsity": PRUNE_SPARSITY, "allocation": "global", "storage": "sparse-csr", "finetune": False}})


def _quant(cnn):
    from .. import deploy
    folder = tempfile.mkdtemp(prefix="labkit-explorer-")
    return ("cnn int8 (ONNX Runtime, static)", deploy.to_runtime(cnn, folder, "int8"),
            {"approx": True, "technique": "quant-int8", "config": {"runtime": "onnxruntime", "bits": 8}, "deployed": True})


def _lowrank(cnn):
    from ..lowrank import energy_ranks, factorize
    return (f"cnn Tucker-2/SVD {LOWRANK_KEEP:.0%} energy", factorize(cnn, energy_ranks(cnn, LOWRANK_KEEP, ["4", "8", "13"])),
            {"approx": True, "technique": "lowrank-tucker", "config": {"keep": LOWRANK_KEEP, "finetune": False}})


REBUILD = {"compact": _compact, "prune": _prune, "quant": _quant, "lowrank": _lowrank}


def representatives(families=None, baseline: str = "cnn") -> tuple[dict, dict]:
    """``({name: model}, {name: how})``: the zoo's ``baseline``, its deployed fp32 form
    (``labkit.deploy.deployed``), and one rebuilt model for each of ``families`` (default: every
    family in ``REBUILD``) that has a builder."""
    from .. import deploy, zoo
    cnn = zoo.load(baseline)
    models, hows = {baseline: cnn}, {baseline: {"technique": "baseline", "config": {"model": baseline}}}
    dep = deploy.deployed(cnn)
    models[f"{baseline} deployed"] = dep
    hows[f"{baseline} deployed"] = {"runtime": dep.runtime, "technique": "runtime-fp32", "config": {"model": baseline},
                                    "deployed": True}
    for fam in (families or REBUILD):
        if fam in REBUILD:
            name, model, how = REBUILD[fam](cnn)
            models[name], hows[name] = model, {**how, "family": fam}
    return models, hows


def remeasure(models: dict, hows: dict, batch_sizes=(1, 256), repeats: int = 20, repeats_large: int = 5) -> dict:
    """``{batch size: {name: Point}}`` of every model, all timed interleaved in one run per batch
    size; bytes and MACs as each ``how`` says; accuracy (10,000 test images) once, ``Approx`` where
    ``how["approx"]``. Also returns ``"params"``: ``{name: parameters}`` (nonzero for a sparse one)."""
    from .. import metrics, points
    from ..train import evaluate
    acc = {}
    for name, m in models.items():
        a = evaluate(m)
        acc[name] = verify.approx(a) if hows[name].get("approx") else a
    storage = {n: h.get("storage", "fp32") for n, h in hows.items()}
    nonzero = {n: h.get("nonzero", False) for n, h in hows.items()}
    out = {b: points.measure(models, batch_size=b, storage=storage, accuracy=acc, nonzero=nonzero,
                             repeats=repeats if b < 64 else repeats_large)
           for b in batch_sizes}
    params = {}
    for name, m in models.items():
        counted = getattr(m, "counted_as", None) or m
        params[name] = metrics.count_params(counted, nonzero=hows[name].get("nonzero", False))
    out["params"] = params
    return out


def record_(rec, measured: dict, hows: dict, baseline: str = "cnn") -> None:
    """Add every re-measured model to ``rec`` (a ``labkit.record.Recorder``) at each batch size,
    against ``baseline`` of the same run; the deployed forms (``how["deployed"]``) against the
    deployed fp32 baseline too."""
    dep = next(n for n, h in hows.items() if h.get("technique") == "runtime-fp32")
    for b, pts in measured.items():
        if b == "params":
            continue
        for name, p in pts.items():
            h = hows[name]
            kw = {"deployed": pts[dep], "deployed_runtime": hows[dep]["runtime"]} if h.get("deployed") else {}
            rec.add(h["technique"], h["config"], p, baseline=None if name == baseline else pts[baseline], batch_size=b, **kw)


def audit_points(measured: dict) -> list[dict]:
    """The re-measured models as audit points: params, MACs, bytes, batch-1 and batch-256 latency."""
    names = list(measured["params"])
    return [{"label": n, "params": measured["params"][n], "macs": measured[1][n].macs,
             "size_bytes": measured[1][n].size_bytes, "latency_b1_ms": measured[1][n].latency_ms,
             "latency_b256_ms": measured[256][n].latency_ms if 256 in measured else None} for n in names]
