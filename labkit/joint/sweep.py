"""The cached sweeps of notebook 08: Deep Compression under byte budgets (and ADMM vs magnitude).

``dc_recipe`` (``python -m labkit sweep joint-deep-compression``) runs, for each model and byte
budget, the sensitivity scan, the greedy allocation and ``pipeline.compress``, then writes the real
file; each row keeps the file's bytes (base64), so the notebook decodes and re-evaluates exactly
the model the sweep made. ``dc_view`` groups the rows by model.
"""
from __future__ import annotations

import base64
from typing import Sequence

from .. import points, zoo
from ..data import subset
from ..layers import fold_batchnorm
from . import budget, fileformat, pipeline

# file-size targets as "x smaller than fp32": Deep Compression's 40x on LeNet, the 100x / 250x on the CNN
RATIOS = {"lenet5": (40, 60), "cnn": (100,)}
EPOCHS = {"lenet5": (4.0, 1.0), "cnn": (12.0, 3.0)}   # (pruning, centroid) fine-tuning epochs; LeNet-5 gained nothing
# from 12; the CNN: 12 + 3 gained 0.6 pt (test) over 6 + 1.5, 24 + 6 lost 0.25 pt against 12 + 3 (91.39 %, one run)
STEPS = 6                 # pruning rounds (cubic schedule): gradual, the last round adds little sparsity
FINAL_SHARE = 0.4         # the last round's share of the pruning epochs; the five before share the rest


def template(model: str):
    """The architecture a file of ``model`` decodes into: the zoo model with BatchNorm folded."""
    return fold_batchnorm(zoo.load(model))


def target_bytes(model: str, ratio: float) -> int:
    from ..size import size_bytes
    return int(size_bytes(zoo.load(model), "fp32") / ratio)


def run_one(model: str, ratio: float, table: dict, prune_epochs: float, share_epochs: float, steps: int = STEPS,
            limit: int | None = None, seed: int = 0, eval_limit: int | None = None, progress: bool = False,
            final_share: float = FINAL_SHARE) -> dict:
    """One budget: allocation (its one-shot file fitted under the target, ``pipeline.fit_allocation``),
    compression, the file; a row with the decoded model's accuracy."""
    import io
    from ..train import evaluate
    base = zoo.load(model)
    target = target_bytes(model, ratio)
    alloc = pipeline.fit_allocation(base, table, target)
    m = pipeline.compress(base, alloc, prune_epochs, share_epochs, steps=steps, limit=limit, seed=seed, progress=progress,
                          final_share=final_share)
    blob, parts = fileformat.encode(m, pipeline.INDEX_BITS, {n: b for n, (_, b) in alloc.items()})
    decoded = template(model)
    decoded.load_state_dict(fileformat.decode(io.BytesIO(blob).getvalue(), decoded))
    acc = float(evaluate(decoded, limit=eval_limit))
    return points.make({"model": model, "target_ratio": ratio, "allocation": budget.plain(alloc), "coder": "huffman",
                        "index_bits": pipeline.INDEX_BITS, "prune_epochs": prune_epochs, "share_epochs": share_epochs,
                        "steps": steps, "final_share": final_share, "seed": seed}, accuracy=acc, size_bytes=len(blob), macs=0,
                       target_bytes=target, parts=parts, stages=pipeline.stages(base, m, alloc, len(blob)),
                       file=base64.b64encode(blob).decode())


def dc_recipe(models: Sequence[str] = ("lenet5", "cnn"), ratios: dict | None = None, prune_epochs: float | None = None,
              share_epochs: float | None = None, steps: int = STEPS, limit: int | None = None, eval_limit: int | None = None,
              scan_images: int | None = 1000, progress: bool = False, log=print):
    from .. import metrics
    from ..train import evaluate
    ratios = ratios or RATIOS
    rows, extra = [], {"scans": {}}
    for model in models:
        base = zoo.load(model)
        table = budget.scan(base, subset("sensitivity", limit=scan_images))
        extra["scans"][model] = {n: {f"s{s:g}/b{b}": round(c, 3) for (s, b), c in table["cost"][n].items()}
                                 for n in table["cost"]}
        rows.append(points.make({"model": model, "kind": "baseline"}, base, float(evaluate(base, limit=eval_limit)),
                                kind="baseline"))
        for r in ratios[model]:
            pe, se = EPOCHS[model]
            try:
                row = run_one(model, r, table, prune_epochs or pe, share_epochs or se, steps, limit, 0, eval_limit, progress,
                              FINAL_SHARE)
            except ValueError as e:          # a budget below every layer's smallest option: say so, go on
                log(model, r, "skipped:", e)
                continue
            row["macs"] = metrics.count_macs(base)
            row["kind"] = "deep-compression"
            rows.append(row)
            log(model, r, row["config"]["allocation"], row["accuracy_pct"], row["size_bytes"])
    params = {"models": list(models), **{f"ratios_{k}": list(ratios.get(k, ())) for k in RATIOS},
              **{f"epochs_{k}": list(v) for k, v in EPOCHS.items()},
              "prune_epochs": prune_epochs, "share_epochs": share_epochs, "steps": steps, "limit": limit,
              "eval_limit": eval_limit, "final_share": FINAL_SHARE, "fit_margin": pipeline.FIT_MARGIN,
              "prune_lr": pipeline.PRUNE_LR, "share_lr": pipeline.SHARE_LR}
    return rows, params, extra


def dc_view(doc: dict) -> dict:
    """``{by_model: {model: {"baseline": row, "runs": [rows]}}, params, scans}`` plus the cache metadata."""
    from .. import cache
    by_model: dict = {}
    for r in doc["rows"]:
        d = by_model.setdefault(r["config"]["model"], {"baseline": None, "runs": []})
        if r.get("kind") == "baseline":
            d["baseline"] = r
        else:
            d["runs"].append(r)
    return {**cache.meta(doc), "by_model": by_model, "params": doc["params"], "scans": doc["extra"].get("scans", {})}


def file_of(row: dict) -> bytes:
    """The compressed file a cached row holds."""
    return base64.b64decode(row["file"])


def load_dc(path=None) -> dict:
    from .. import cache
    return cache.read("joint-deep-compression", path)


def sweep_dc(**kwargs) -> dict:
    from .. import cache
    return dc_view(cache.compute("joint-deep-compression", **kwargs))


# ---- ADMM vs iterative magnitude pruning ---------------------------------------------------------
ADMM_SPARSITY = 0.95      # every layer but the first conv (288 weights), which keeps half
ADMM_EPOCHS = 1.0         # the whole budget of both methods: ADMM half + fine-tune half; magnitude 3 rounds
ADMM_BITS = 4             # the joint prune + quantise variant (weights snapped to 4-bit k-means centroids)


def admm_allocation(model) -> dict:
    from ..layers import weighted_layers
    names = list(weighted_layers(model))
    return {n: (0.5 if i == 0 else ADMM_SPARSITY) for i, n in enumerate(names)}


def admm_recipe(model: str = "cnn", seeds: Sequence[int] = (0, 1, 2), epochs: float = ADMM_EPOCHS, bits: int = ADMM_BITS,
                limit: int | None = 20000, eval_limit: int | None = None, log=print):
    """For each seed: iterative magnitude pruning (3 rounds, ``epochs``), ADMM (``epochs / 2``, then the
    mask held for ``epochs / 2``), and, for the first seed, joint ADMM prune + quantise to ``bits`` and
    ADMM with the penalty inside the loss (``pull=None``: what Adam does to it); the same allocation
    and fine-tuning budget for all. Rows keep the ADMM residuals."""
    import copy
    from ..pruning.masks import iterative_prune_, weight_sparsity
    from ..size import Storage
    from ..train import evaluate
    from . import admm
    base = zoo.load(model)
    alloc = admm_allocation(base)
    rows = []
    for seed in seeds:
        for kind in ("magnitude", "admm") + (("admm-joint", "admm-in-loss") if seed == seeds[0] else ()):
            m = fold_batchnorm(copy.deepcopy(base))
            residual = []
            if kind == "magnitude":
                iterative_prune_(m, alloc, steps=3, epochs=epochs, limit=limit, report=lambda *_: None, seed=100 * seed)
            else:
                residual = admm.admm_then_finetune_(m, alloc, epochs / 2, epochs / 2, limit=limit, seed=seed,
                                                   bits=bits if kind == "admm-joint" else None,
                                                   pull=None if kind == "admm-in-loss" else admm.PULL)
            acc = float(evaluate(m, limit=eval_limit))
            storage = Storage("codebook", bits, sparse="csr") if kind == "admm-joint" else Storage(sparse="csr")
            rows.append(points.make({"model": model, "kind": kind, "sparsity": round(weight_sparsity(m), 4),
                                     "bits": bits if kind == "admm-joint" else 32, "epochs": epochs, "seed": seed},
                                    m, acc, storage=storage, nonzero=True, residual=[round(r, 5) for r in residual]))
            log(kind, seed, acc)
    params = {"model": model, "seeds": list(seeds), "epochs": epochs, "bits": bits, "limit": limit,
              "eval_limit": eval_limit, "allocation": alloc, "pull": admm.PULL, "every": admm.ADMM_EVERY}
    return rows, params, {}


def admm_view(doc: dict) -> dict:
    from .. import cache
    by_kind: dict = {}
    for r in doc["rows"]:
        by_kind.setdefault(r["config"]["kind"], []).append(r)
    return {**cache.meta(doc), "by_kind": by_kind, "params": doc["params"]}


def load_admm(path=None) -> dict:
    from .. import cache
    return cache.read("joint-admm", path)


def sweep_admm(**kwargs) -> dict:
    from .. import cache
    return admm_view(cache.compute("joint-admm", **kwargs))
