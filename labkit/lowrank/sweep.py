"""Notebook 06's cached sweep: factorized CNNs fine-tuned back over seeds, and the fair baseline
(a thinner CNN with the same parameter count, trained from scratch with the same epochs).

``recipe`` computes it (tens of minutes; ``python -m labkit sweep lowrank`` caches it through
``labkit.cache``); ``load_sweep`` reads the cache and ``sweep`` recomputes it, both in the shape
the notebook reads (``view``). Rows are ``labkit.points.make`` points with a ``kind``
(``baseline``, ``svd``, ``tucker-energy``, ``tucker-latency``, ``cp``, ``svd+tucker``, ``thin``),
the seed, and the accuracy before fine-tuning (``zero_shot_pct``). Latency is not cached: the
notebook times every architecture beside the baseline on its own CPU.
"""
from __future__ import annotations

from typing import Sequence

from torch import nn

from .. import metrics, points
from ..layers import weighted_layers
from .layers import factorize
from .select import energy_ranks, latency_ranks, layer_scan

SEEDS = (0, 1, 2)
FC_RANK = 32              # the CNN's 1152 -> 256 layer: 6x fewer FC weights, ~no zero-shot drop
ENERGY_KEEP = 0.8         # Tucker ranks of the convs: 80 % of each mode's energy (~2.4x fewer conv MACs)
CP_RANKS = {"4": 64, "8": 128}
EPOCHS = 1.0              # fine-tuning epochs of every factorized model
FT_LR = 5e-4              # fine-tuning learning rate (Adam, cosine to 0): a quarter of training's, from trained weights
KINDS = ("baseline", "svd", "tucker-energy", "tucker-latency", "cp", "svd+tucker", "thin")
TECHNIQUE = {"baseline": "baseline", "svd": "lowrank-svd", "tucker-energy": "lowrank-tucker",
             "tucker-latency": "lowrank-tucker", "cp": "lowrank-cp", "svd+tucker": "lowrank-tucker",
             "thin": "thin-baseline"}


def conv_names(model: nn.Module) -> list[str]:
    return [n for n, m in weighted_layers(model).items() if isinstance(m, nn.Conv2d)]


def plain(ranks: dict) -> dict:
    """Ranks as JSON can hold them (flat): ``{layer: int | "r_out x r_in" | "dense"}``."""
    return {k: ("dense" if v is None else f"{v[0]}x{v[1]}" if isinstance(v, (tuple, list)) else int(v))
            for k, v in ranks.items()}


def parse(ranks: dict) -> dict:
    """The inverse of ``plain``."""
    def one(v):
        if v == "dense":
            return None
        if isinstance(v, str):
            a, b = v.split("x")
            return int(a), int(b)
        return int(v)
    return {k: one(v) for k, v in ranks.items()}


def plans(base: nn.Module, scan_rows: list[dict] | None = None, batch_size: int = 256, repeats: int = 15) -> dict:
    """``{kind: (method, ranks)}`` of every factorized kind; ``tucker-latency`` keeps dense every conv
    whose energy-chosen Tucker chain was not measured faster at ``batch_size`` (``scan_rows``, timed
    now when not given)."""
    energy = energy_ranks(base, ENERGY_KEEP, conv_names(base))
    if scan_rows is None:
        scan_rows = layer_scan(base, {n: [r] for n, r in energy.items()}, (batch_size,), repeats=repeats)
    latency = latency_ranks(energy, scan_rows, batch_size)
    return {"svd": ("auto", {"13": FC_RANK}), "tucker-energy": ("auto", energy), "tucker-latency": ("auto", latency),
            "cp": ("cp", dict(CP_RANKS)), "svd+tucker": ("auto", {**latency, "13": FC_RANK})}


def build(base: nn.Module, method: str, ranks: dict) -> nn.Module:
    """The factorized copy of ``base`` for a plan (before fine-tuning)."""
    return factorize(base, ranks, method)


def thin_width(target_params: int, widths: Sequence[int] = range(4, 33)) -> int:
    """The width of ``labkit.models.baseline_cnn`` whose parameter count is closest to ``target_params``."""
    from ..models import baseline_cnn
    return min(widths, key=lambda w: abs(metrics.count_params(baseline_cnn(width=w)) - target_params))


def recipe(seeds: Sequence[int] = SEEDS, epochs: float = EPOCHS, lr: float = FT_LR, kinds: Sequence[str] = KINDS,
           limit: int | None = None, eval_limit: int | None = None, repeats: int = 15, progress: bool = True,
           log=print):
    """Every kind of ``KINDS`` fine-tuned ``epochs`` over ``seeds`` (the baseline once, CP on the first
    seed only), on the first ``limit`` training images; accuracy on the first ``eval_limit`` test images.
    The thin baseline trains from scratch for the zoo recipe's epochs + ``epochs`` (the factorized
    model's whole budget)."""
    from .. import zoo
    from ..models import baseline_cnn
    from ..train import evaluate, train
    base = zoo.load("cnn")
    todo = plans(base, repeats=repeats)
    rows, extra = [], {"ranks": {k: plain(r) for k, (_, r) in todo.items()}}
    rows.append(points.make({"kind": "baseline", "model": "cnn"}, base, evaluate(base, limit=eval_limit), seed=None,
                            zero_shot_pct=None))
    combined_params = None
    for kind in [k for k in kinds if k in todo]:
        method, ranks = todo[kind]
        for seed in (seeds[:1] if kind == "cp" else seeds):
            model = build(base, method, ranks)
            before = evaluate(model, limit=eval_limit)
            train(model, epochs=epochs, lr=lr, seed=seed, limit=limit, progress=progress, desc=f"{kind} seed {seed}")
            rows.append(points.make({"kind": kind, "model": "cnn", "ranks": plain(ranks), "epochs": epochs, "seed": seed},
                                    model, float(evaluate(model, limit=eval_limit)), seed=seed,
                                    zero_shot_pct=round(float(before), 4)))
            log(kind, rows[-1]["config"], rows[-1]["accuracy_pct"])
        if kind == "svd+tucker":
            combined_params = metrics.count_params(build(base, method, ranks))
    if "thin" in kinds:
        width = thin_width(combined_params or metrics.count_params(build(base, *todo["svd+tucker"])))
        scratch = zoo.RECIPES["cnn"].epochs + epochs
        for seed in seeds:
            model = baseline_cnn(width=width)
            train(model, epochs=scratch, seed=seed, limit=limit, progress=progress, desc=f"thin w{width} seed {seed}")
            rows.append(points.make({"kind": "thin", "model": f"cnn-w{width}", "epochs": scratch, "seed": seed},
                                    model, float(evaluate(model, limit=eval_limit)), seed=seed, zero_shot_pct=None))
            log("thin", rows[-1]["config"], rows[-1]["accuracy_pct"])
    params = {"seeds": list(seeds), "epochs": epochs, "lr": lr, "kinds": list(kinds), "fc_rank": FC_RANK,
              "energy_keep": ENERGY_KEEP, "cp_ranks": dict(CP_RANKS), "limit": limit, "eval_limit": eval_limit}
    return rows, params, extra


def view(doc: dict) -> dict:
    """The cache as the notebook reads it: ``{rows, by_kind: {kind: [rows]}, ranks, params}`` and
    the cache's metadata (``command``, ``labkit``, ``torch``, ``threads``, ``created``, ``seconds``)."""
    from .. import cache
    by_kind: dict = {}
    for r in doc["rows"]:
        by_kind.setdefault(r["config"]["kind"], []).append(r)
    return {**cache.meta(doc), "rows": doc["rows"], "by_kind": by_kind, "ranks": doc["extra"].get("ranks", {}),
            "params": doc["params"]}


def sweep(**kwargs) -> dict:
    """Recompute the sweep now (notebook 06's ``FULL = True``), in the shape of ``load_sweep``."""
    from .. import cache
    return view(cache.compute("lowrank", **kwargs))


def load_sweep(path=None) -> dict:
    """The cached sweep (``python -m labkit sweep lowrank`` makes it) in the shape of ``view``."""
    from .. import cache
    return cache.read("lowrank", path)
