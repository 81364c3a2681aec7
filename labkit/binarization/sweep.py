"""Notebook 04's cached sweep (``python -m labkit sweep binary`` caches it through ``labkit.cache``):
every binarized model the notebook compares, trained from the zoo's fp32 checkpoints over seeds.

``recipe`` trains each run (model, technique, layers, seed) and records a point (test accuracy,
packed bytes under ``storage.plan``, MACs); ``load_sweep`` reads the cache, ``sweep`` recomputes it
(``FULL = True``), both in the shape of ``view``. The latencies are not cached: the notebook
measures them beside the baseline (``labkit.points``).
"""
from __future__ import annotations

import time
from functools import partial

from .. import metrics, points, validate
from .layers import TECHNIQUES, describe, labels
from .storage import size_bytes
from .train import EPOCHS, LR, train_binarized

# one run a string: "model/technique/layers/seeds/EPOCHSep"; layers: labels joined by "," or
# "inner" (all but the first and last layer); seeds joined by "+"
RUNS = (
    "cnn/bwn/inner/0+1/1ep",
    "cnn/ternary/inner/0+1/1ep",
    "cnn/xnor/inner/0+1/2ep",
    "lenet5/bwn/inner/0/1ep",
    "lenet5/ternary/inner/0/1ep",
    "lenet5/xnor/inner/0/1ep",
    "cnn/bwn/fc1/0/1ep",
    "cnn/bwn/conv2,conv3/0/1ep",
    "cnn/xnor/conv1,conv2,conv3,fc1,fc2/0/1ep",
)


def parse_run(run: str) -> tuple[str, str, list | None, list[int], float]:
    """``"cnn/xnor/inner/0+1/2ep"`` -> ``("cnn", "xnor", None, [0, 1], 2)``."""
    parts = run.split("/")
    if len(parts) != 5 or not parts[4].endswith("ep"):
        raise ValueError(f"bad run {run!r}: use 'model/technique/layers/seeds/EPOCHSep', e.g. 'cnn/xnor/inner/0+1/2ep'")
    model, technique, layers, seeds, epochs = parts
    validate.choice(technique, TECHNIQUES, "binarization technique")
    e = float(epochs[:-2])
    return (model, technique, None if layers == "inner" else layers.split(","), [int(x) for x in seeds.split("+")],
            int(e) if e.is_integer() else e)


def _key(model, technique, layers, seed) -> str:
    return f"{model}/{technique}/{','.join(layers) if layers else 'inner'}/{seed}"


def recipe(runs=RUNS, lr: float = LR, limit: int | None = None, eval_limit: int | None = None,
           progress=print, done=None, checkpoint=None):
    """Rows: one fp32 point per model (its zoo checkpoint), then one point per (run, seed):
    ``config = {model, technique, layers, scaling, seed, epochs, lr}``, ``technique`` the record's
    name (``binary-weight``, ``ternary-weight``, ``binary-xnor``). Resumable (``done``/``checkpoint``)."""
    from .. import zoo
    from ..train import evaluate
    parsed = [parse_run(r) for r in runs]
    acc = evaluate if eval_limit is None else partial(evaluate, limit=eval_limit)
    rows = list(done or [])
    have = {r["key"] for r in rows}
    t0 = time.perf_counter()
    for name in dict.fromkeys(r[0] for r in parsed):
        if f"{name}/fp32" in have:
            continue
        net = zoo.load(name, device="cpu")
        rows.append({"key": f"{name}/fp32", "technique": "fp32",
                     **points.make({"model": name, "technique": "fp32", "layers": [], "scaling": "none"}, net,
                                   acc(net))})
        progress(f"[{time.perf_counter() - t0:6.1f} s] {name} fp32: {rows[-1]['accuracy_pct']:.2f} %")
        if checkpoint:
            checkpoint(rows)
    for model, technique, layers, seeds, epochs in parsed:
        for seed in seeds:
            key = _key(model, technique, layers, seed)
            if key in have:
                continue
            net = train_binarized(technique, model, layers, epochs, lr, seed, limit, progress=False)
            d = describe(net)
            cfg = {"model": model, "technique": technique, "layers": d["binarized"], "scaling": d["scaling"],
                   "seed": seed, "epochs": epochs, "lr": lr}
            rows.append({"key": key, "technique": TECHNIQUES[technique][0],
                         **points.make(cfg, accuracy=acc(net), size_bytes=size_bytes(net),
                                       macs=metrics.count_macs(net))})
            progress(f"[{time.perf_counter() - t0:6.1f} s] {key}: {rows[-1]['accuracy_pct']:.2f} %")
            if checkpoint:
                checkpoint(rows)
    params = {"seeds": sorted({s for p in parsed for s in p[3]}), "lr": lr, "limit": limit, "eval_limit": eval_limit,
              "runs": list(runs)}
    return rows, params, {}


def view(doc: dict) -> dict:
    """The cache as notebook 04 reads it: ``{points: [rows], params}`` plus the cache's metadata."""
    from .. import cache
    return {**cache.meta(doc), "params": doc["params"], "points": [dict(r) for r in doc["rows"]]}


def sweep(**kwargs) -> dict:
    """Recompute the sweep now (``recipe(**kwargs)``), in the shape of ``load_sweep``."""
    from .. import cache
    return view(cache.compute("binary", **kwargs))


def load_sweep(path=None) -> dict:
    """The cached sweep (``python -m labkit sweep binary``) in the shape of ``view``."""
    from .. import cache
    return cache.read("binary", path)


def headline(points_: list[dict]) -> list[dict]:
    """Mean and spread over seeds per (model, technique, layers): ``{model, technique, layers, seeds,
    accuracy_mean, accuracy_std, accuracy_min, accuracy_max, size_bytes, macs}``."""
    import statistics
    groups: dict = {}
    for p in points_:
        c = p["config"]
        groups.setdefault((c["model"], c["technique"], tuple(c["layers"])), []).append(p)
    out = []
    for (model, tech, lay), ps in groups.items():
        accs = [p["accuracy_pct"] for p in ps]
        out.append({"model": model, "technique": tech, "layers": list(lay), "seeds": len(ps),
                    "accuracy_mean": statistics.fmean(accs), "accuracy_std": statistics.pstdev(accs),
                    "accuracy_min": min(accs), "accuracy_max": max(accs),
                    "size_bytes": ps[0]["size_bytes"], "macs": ps[0]["macs"]})
    return out


def architecture(p: dict):
    """The model a cached point runs as when timed: the zoo architecture (random weights do: a
    forward pass's time does not depend on them), binarized as the point says, in its packed form."""
    from ..models import build
    from .kernels import packed_model
    from .layers import binarized
    c = p["config"]
    arch = build(c["model"]).eval()
    return arch if c["technique"] == "fp32" else packed_model(binarized(arch, c["technique"], c["layers"]).eval())


def retime(points_: list[dict], baseline, batch_size: int = 1, repeats: int = 10) -> tuple[list[dict], float]:
    """``labkit.points.retime`` of cached points: each timed now in its packed form beside ``baseline``;
    the seeds of one (technique, layers) share one model."""
    return points.retime(points_, architecture, baseline, batch_size=batch_size, repeats=repeats,
                         key=lambda p: (p["config"]["technique"], tuple(p["config"]["layers"])))
