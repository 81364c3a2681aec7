"""One representative model per family, rebuilt by labkit from the zoo's checkpoints, and
measured side by side in one run: the records' latencies come from many runs, these come from
one, so their ratios are comparable with each other.

``REBUILD`` maps a family to a builder ``(baseline) -> (name, model, how)``; ``how`` is a dict of
``points.measure`` options for that model (``storage``, ``nonzero``), ``approx=True`` when its
accuracy depends on this CPU's rounding and ``approx_counts=True`` when its bytes, MACs and
parameters do too (the Deep Compression file: its nonzeros and its Huffman code come from training). compact, prune, quant and lowrank need no training.
binary, distill, nas and joint are trained here on a short budget (``SHORT``: a few thousand
images, seconds each) by their topics' own functions: the same architecture, storage and kernels
as their notebooks' points, so bytes, MACs and latency are theirs; the accuracy is that of the
short budget, below their notebooks' (their records hold the full-budget points).
"""
from __future__ import annotations

import tempfile

from .. import verify

PRUNE_SPARSITY = 0.7
LOWRANK_KEEP = 0.9
SHORT = 4000                  # training images of the short budget (binary, nas, joint)
BINARY_LAYERS = ["conv2", "conv3", "fc1"]     # notebook 04's BWN: first and last layer stay fp32
KD = {"width": 4, "images": 2000, "samples": 80000, "T": 4.0, "alpha": 0.75}    # notebook 05's headline student (seed 0)
JOINT = (0.7, 5)              # every layer: sparsity, bits (notebook 08's Deep Compression pipeline)


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


def _binary(_cnn):
    from ..binarization import size_bytes, train_binarized
    m = train_binarized("bwn", "cnn", layers=BINARY_LAYERS, epochs=1, limit=SHORT, progress=False)
    m.bytes_from_file, m.file_bytes = True, (lambda: size_bytes(m))     # 1 bit per weight + scales (04's plan)
    return ("cnn BWN (1-bit weights)", m,
            {"approx": True, "technique": "binary-weight",
             "config": {"model": "cnn", "layers": BINARY_LAYERS, "images": SHORT, "epochs": 1}})


def _distill(cnn):
    from ..distillation import Budget, teacher_cache, train_student
    b = Budget(images=KD["images"], samples=KD["samples"], width=KD["width"])
    m = train_student(seed=0, cache=teacher_cache(cnn, b), T=KD["T"], alpha=KD["alpha"], budget=b).eval()
    return (f"cnn-w{KD['width']} student (KD)", m,
            {"approx": True, "technique": "kd", "config": {"teacher": "cnn", "student": f"cnn-w{KD['width']}",
                                                            **{k: v for k, v in KD.items() if k != "width"}}})


def _nas(_cnn):
    from ..nas import search, space, truth
    found = next(r for r in search.load_sweep()["found"] if r["config"]["name"] == "found-nsga2")
    m, *_ = truth.train_arch(found["arch"], seed=0, budget={"images": SHORT})
    return ("NAS-found net (07, NSGA-II)", m.eval(),
            {"approx": True, "technique": "nas-evolution",
             "config": {"arch": space.describe(found["arch"]), "images": SHORT, "epochs": 1}})


def _joint(cnn):
    import copy
    import os
    from ..joint import compress, fileformat
    from ..layers import fold_batchnorm, weighted_layers
    template = fold_batchnorm(copy.deepcopy(cnn))
    alloc = {n: JOINT for n in weighted_layers(template)}
    path = os.path.join(tempfile.mkdtemp(prefix="labkit-explorer-"), "cnn.lab")
    fileformat.write(compress(cnn, alloc, prune_epochs=2.0, share_epochs=1.0, steps=2, limit=SHORT), path)
    m = fileformat.read(path, template)          # the decoded file is what runs
    m.bytes_from_file, m.file_bytes = True, (lambda: os.path.getsize(path))
    return (f"cnn Deep Compression file ({JOINT[0]:.0%}, {JOINT[1]} bits)", m,
            {"approx": True, "approx_counts": True, "nonzero": True, "technique": "joint-deep-compression",
             "config": {"model": "cnn", "sparsity": JOINT[0], "bits": JOINT[1], "coder": "huffman", "images": SHORT}})


REBUILD = {"compact": _compact, "prune": _prune, "quant": _quant, "binary": _binary, "distill": _distill,
           "lowrank": _lowrank, "nas": _nas, "joint": _joint}


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
    for pts in out.values():        # counts that depend on trained weights (a coded file, nonzeros): Approx too
        for name, p in pts.items():
            if hows[name].get("approx_counts"):
                p.size_bytes, p.macs, p.params = verify.approx(p.size_bytes), verify.approx(p.macs), verify.approx(p.params)
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
