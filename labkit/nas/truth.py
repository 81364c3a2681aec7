"""Ground truth for notebook 07: architectures of the space, each trained with one fixed short
budget over two seeds (``python -m labkit sweep nas-ground-truth`` caches it).

The budget (``BUDGET``): one pass over the first 4,000 training images, batch 64 (63 steps), Adam
at lr 4e-3 with a cosine decay; accuracy on the first 2,000 images of the held-out ``val`` part of
the training set (``labkit.data.SUBSETS``), never the test set, so choosing an architecture by it
leaves the test set for the final report. Every row also keeps the training loss of each step: the
convergence-speed proxy (Ru et al. 2021, "Speedy Performance Estimation for NAS") is the sum of
the first k of them, read from this log.
"""
from __future__ import annotations

import time
from typing import Sequence

import torch.nn.functional as F

from .. import points
from . import space

BUDGET = {"images": 4000, "batch_size": 64, "lr": 4e-3, "epochs": 1, "eval_images": 2000}
SEEDS = (0, 1)
N_ARCHS = 40


def train_arch(arch, seed: int = 0, budget: dict | None = None, progress: bool = False):
    """Train ``arch`` from scratch with ``budget``; returns ``(model, val accuracy %, step losses, seconds)``."""
    from ..data import subset
    from ..train import evaluate, train
    b = {**BUDGET, **(budget or {})}
    model = space.build(arch)
    losses: list[float] = []

    def loss(m, x, y):
        logits = m(x)
        value = F.cross_entropy(logits, y)
        losses.append(float(value.detach()))
        return value, logits

    t0 = time.perf_counter()
    train(model, epochs=b["epochs"], lr=b["lr"], batch_size=b["batch_size"], limit=b["images"], seed=seed,
          loss=loss, progress=progress, desc=space.describe(arch))
    seconds = time.perf_counter() - t0
    acc = evaluate(model, subset("val", limit=b["eval_images"], batch_size=1000))
    return model, acc, losses, seconds


def recipe(n: int = N_ARCHS, seeds: Sequence[int] = SEEDS, budget: dict | None = None, seed: int = 0,
           reverse: bool = False, done: list | None = None, checkpoint=None, log=print):
    """``n`` architectures spanning the space (``space.spanning(n, seed)``), each trained with
    ``budget`` once per seed; one row per (architecture, seed), resumable. ``reverse``: from the
    last architecture down (a second worker meets the first in the middle; ``merge`` joins them)."""
    b = {**BUDGET, **(budget or {})}
    rows = list(done or [])
    have = {(r["config"]["index"], r["config"]["seed"]) for r in rows}
    todo = list(enumerate(space.spanning(n, seed)))
    for i, arch in (todo[::-1] if reverse else todo):
        for s in seeds:
            if (i, s) in have:
                continue
            model, acc, losses, seconds = train_arch(arch, s, b)
            rows.append(points.make({"index": i, "arch_name": space.describe(arch), "seed": s}, model, float(acc),
                                    arch=[list(r) for r in arch], losses=[round(v, 5) for v in losses],
                                    train_seconds=round(seconds, 2)))
            log(f"{i:3d} seed {s}: {rows[-1]['accuracy_pct']:.2f} %  {seconds:.1f} s  {space.describe(arch)}")
            if checkpoint:
                checkpoint(rows)
    params = {"n": n, "seeds": list(seeds), "space_seed": seed, "budget": b, "space_size": space.size(), "workers": 1}
    return sorted(rows, key=lambda r: (r["config"]["index"], r["config"]["seed"])), params, {}


def merge(parts: Sequence[list], n: int = N_ARCHS, seeds: Sequence[int] = SEEDS, seconds: float | None = None,
          seed: int = 0, threads: int = 1) -> dict:
    """The cached document from the rows of several workers (each (index, seed) once, each worker at
    ``threads`` threads; ``seconds``: the wall time from the first start to the last row), or a
    one-line error naming what is missing."""
    from .. import cache
    rows = {}
    for part in parts:
        for r in part:
            rows.setdefault((r["config"]["index"], r["config"]["seed"]), r)
    missing = [(i, s) for i in range(n) for s in seeds if (i, s) not in rows]
    if missing:
        raise ValueError(f"{len(missing)} (architecture, seed) runs are missing, e.g. {missing[:3]}: let the workers finish")
    params = {"n": n, "seeds": list(seeds), "space_seed": seed, "budget": dict(BUDGET), "space_size": space.size(),
              "workers": len(parts)}
    return cache.document("nas-ground-truth", ([rows[k] for k in sorted(rows)], params, {}), seconds=seconds,
                          threads=threads)


def view(doc: dict) -> dict:
    """The cache as the notebook reads it: per architecture ``{"arch", "name", "accs": {seed: %},
    "accuracy_pct" (mean over seeds), "losses": {seed: [...]}, "macs", "size_bytes", "seconds"}``,
    in index order, plus the cache's metadata and ``params``."""
    from .. import cache
    by: dict = {}
    for r in doc["rows"]:
        i = r["config"]["index"]
        a = by.setdefault(i, {"index": i, "arch": space.canonical(r["arch"]), "name": r["config"]["arch_name"],
                              "accs": {}, "losses": {}, "train_seconds": {}, "macs": r["macs"],
                              "size_bytes": r["size_bytes"]})
        s = r["config"]["seed"]
        a["accs"][s], a["losses"][s], a["train_seconds"][s] = r["accuracy_pct"], r["losses"], r["train_seconds"]
    archs = [by[i] for i in sorted(by)]
    for a in archs:
        a["accuracy_pct"] = sum(a["accs"].values()) / len(a["accs"])
    return {**cache.meta(doc), "archs": archs, "params": doc["params"], "rows": doc["rows"]}


def load_sweep(path=None) -> dict:
    """The cached ground truth (``python -m labkit sweep nas-ground-truth``) in the shape of ``view``."""
    from .. import cache
    return cache.read("nas-ground-truth", path)


def early_losses(arch, k: int, seed: int = 0, budget: dict | None = None) -> list[float]:
    """The first ``k`` training losses of ``arch`` under the ground truth's budget (same data order,
    optimiser and schedule, stopped after ``k`` steps): the convergence proxy of an architecture
    that is not in the ground truth, for ``k / steps`` of its training cost."""
    import math

    import torch

    from ..data import loader
    from ..env import seed_everything
    b = {**BUDGET, **(budget or {})}
    seed_everything(seed)
    model = space.build(arch).train()
    data = loader("train", b["batch_size"], shuffle=True, limit=b["images"], device="cpu", seed=seed)
    total = max(1, math.ceil(b["epochs"] * len(data)))
    opt = torch.optim.Adam(model.parameters(), lr=b["lr"])
    from ..train import cosine
    sched = cosine(opt, total)
    losses = []
    for x, y in data:
        if len(losses) >= k:
            break
        value = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        sched.step()
        losses.append(float(value.detach()))
    return losses
