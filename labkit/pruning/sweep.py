"""Notebook 02's measured points and its cached sweep (fine-grained, channel, joint).

``fine_point`` / ``channel_point`` / ``joint_point`` prune, fine-tune and measure one model;
``recipe`` computes every point of the dashboard (minutes; ``python -m labkit sweep pruning`` caches
it through ``labkit.cache``); ``load_sweep`` reads the cache and ``sweep`` recomputes it, both in the
shape the dashboard reads (``view``).
"""
from __future__ import annotations

import copy
import torch
from torch import nn
from .. import points, validate
from .sensitivity import Scan, sensitivity_scan
from .channels import _ratio, channel_prune
from .masks import apply_masks_, finetune_, global_magnitude_masks, iterative_prune_, weight_sparsity


def point(config: dict, model: nn.Module, accuracy: float, fmt: str = "fp32", latency_ms: float = 0.0,
          label: str | None = None) -> dict:
    """A pruning sweep point (``labkit.points.make``): size under ``fmt`` (``sparse-csr`` for zeros
    worth storing as such), MACs of the nonzero weights for sparse formats."""
    return points.make(config, model, accuracy, storage=fmt, nonzero=fmt.startswith("sparse"),
                       latency_ms=latency_ms, label=label)


def fine_point(base: nn.Module, scan: Scan, sparsity, epochs: float = 1.0, steps: int = 3,
               report=None, label=None, limit: int | None = None,
               eval_limit: int | None = None) -> tuple[dict, nn.Module]:
    """Prune a copy of ``base`` to overall ``sparsity`` with the allocation ``scan`` derives, in
    ``steps`` prune + fine-tune rounds (Han et al. 2015) on the first ``limit`` training images
    (all by default); point with size in ``sparse-csr``, accuracy on the first ``eval_limit`` test images."""
    from ..train import evaluate
    model = copy.deepcopy(base)
    iterative_prune_(model, scan.allocate_for(sparsity), steps=steps, epochs=epochs, limit=limit, report=report)
    cfg = {"sparsity": validate.sparsity(sparsity), "achieved": round(weight_sparsity(model), 4), "epochs": epochs}
    return point(cfg, model, evaluate(model, limit=eval_limit), "sparse-csr", label=label), model


def channel_point(base: nn.Module, ratio, epochs: float = 0.5, importance=None, report=None,
                  label=None, limit: int | None = None, eval_limit: int | None = None) -> tuple[dict, nn.Module]:
    """Remove ``ratio`` of the channels (L1 filters by default), fine-tune (on the first ``limit``
    training images); point with size in ``fp32``, accuracy on the first ``eval_limit`` test images."""
    from ..train import evaluate
    model = channel_prune(base, ratio, importance=importance)
    finetune_(model, epochs, limit=limit, report=report, desc=f"channels -{_ratio(ratio):.0%}")
    return point({"ratio": _ratio(ratio), "epochs": epochs}, model, evaluate(model, limit=eval_limit), "fp32",
                 label=label), model


def joint_point(channel_model: nn.Module, sparsity, epochs: float = 0.3, ratio=None, report=None,
                label=None, limit: int | None = None, eval_limit: int | None = None) -> tuple[dict, nn.Module]:
    """Multi-level: global magnitude pruning to ``sparsity`` on top of a channel-pruned model,
    fine-tuned with the mask held (on the first ``limit`` training images); point with size in
    ``sparse-csr``, accuracy on the first ``eval_limit`` test images."""
    from ..train import evaluate
    model = copy.deepcopy(channel_model)
    masks = global_magnitude_masks(model, sparsity)
    apply_masks_(model, masks)
    finetune_(model, epochs, masks, limit=limit, report=report, desc=f"joint {validate.sparsity(sparsity):.0%}")
    cfg = {"sparsity": validate.sparsity(sparsity), "ratio": ratio, "epochs": epochs}
    return point(cfg, model, evaluate(model, limit=eval_limit), "sparse-csr", label=label), model


SWEEP = {"prune-fine": (0.5, 0.8, 0.9, 0.95, 0.97),
         "prune-channel": (0.2, 0.3, 0.4, 0.5, 0.6),
         "prune-joint": (0.5, 0.7, 0.8, 0.9)}


EPOCHS = {"prune-fine": 1.0, "prune-channel": 0.5, "prune-joint": 0.3}


SWEEP_RATIO = 0.3           # the channel ratio the joint sweep starts from


def recipe(model: str = "cnn", fine=SWEEP["prune-fine"], channel=SWEEP["prune-channel"], joint=SWEEP["prune-joint"],
           joint_ratio: float = SWEEP_RATIO, epochs: dict | None = None, limit: int | None = None,
           eval_limit: int | None = None, scan_images: int | None = None, scan_sparsities=None, repeats: int = 20,
           progress: bool = True):
    """Every point of notebook 02's dashboard (minutes; ``python -m labkit sweep pruning``):
    fine-grained at each of ``fine`` sparsities (sensitivity allocation, scanned at ``scan_sparsities``
    on ``scan_images`` training images, both by default the scan's own), channel at each of ``channel``
    ratios (L1 filters),
    joint at each of ``joint`` sparsities on the ``joint_ratio`` channel model, each fine-tuned
    ``EPOCHS[method]`` (``epochs`` overrides some) on the first ``limit`` training images (all by
    default) and evaluated on the first ``eval_limit`` test images (all); every latency timed
    interleaved with the baseline at batch 1 (``retime``, ``repeats``).

    Returns ``(rows, params, extra)`` for ``labkit.cache``: a ``"technique": "baseline"`` row, then
    one row per point with its ``"technique"`` (``prune-fine``, ``prune-channel``, ``prune-joint``)."""
    from .. import zoo
    from ..train import evaluate
    if joint and joint_ratio not in channel:
        raise ValueError(f"joint_ratio {joint_ratio!r} must be one of the channel ratios {list(channel)}: "
                         f"the joint sweep starts from that channel-pruned model")
    epochs = {**EPOCHS, **(epochs or {})}
    base = zoo.load(model)
    say = print if progress else (lambda *a, **k: None)
    scan_data = None                     # None: the scan's own images
    if scan_images is not None:
        from ..data import subset
        scan_data = subset("sensitivity", 1000, limit=scan_images)
    scan = sensitivity_scan(base, data=scan_data) if scan_sparsities is None else \
        sensitivity_scan(base, list(scan_sparsities), data=scan_data)
    grid = {"prune-fine": list(fine), "prune-channel": list(channel), "prune-joint": list(joint)}
    pairs = {m: [] for m in SWEEP}
    for s in grid["prune-fine"]:
        pairs["prune-fine"].append(fine_point(base, scan, s, epochs["prune-fine"], limit=limit, eval_limit=eval_limit))
        say("prune-fine", pairs["prune-fine"][-1][0])
    for r in grid["prune-channel"]:
        pairs["prune-channel"].append(channel_point(base, r, epochs["prune-channel"], limit=limit,
                                                    eval_limit=eval_limit))
        say("prune-channel", pairs["prune-channel"][-1][0])
    if grid["prune-joint"]:
        channel_model = dict(zip(grid["prune-channel"], pairs["prune-channel"]))[joint_ratio][1]
    for s in grid["prune-joint"]:
        pairs["prune-joint"].append(joint_point(channel_model, s, epochs["prune-joint"], ratio=joint_ratio,
                                                limit=limit, eval_limit=eval_limit))
        say("prune-joint", pairs["prune-joint"][-1][0])
    data = {"baseline": point({"model": model}, base, evaluate(base, limit=eval_limit)),
            "methods": {m: [p for p, _ in pairs[m]] for m in SWEEP if pairs[m]}}
    data = retime(data, base, repeats=repeats)
    rows = [{"technique": "baseline", **data["baseline"]}]
    rows += [{"technique": m, **p} for m, points in data["methods"].items() for p in points]
    params = {"model": model, "epochs": epochs, "batch_size": data["batch_size"], "fine": grid["prune-fine"],
              "channel": grid["prune-channel"], "joint": grid["prune-joint"], "joint_ratio": joint_ratio,
              "limit": limit, "eval_limit": eval_limit, "scan_images": scan_images,
              "scan_sparsities": None if scan_sparsities is None else list(scan_sparsities), "repeats": repeats}
    return rows, params, {}


def view(doc: dict) -> dict:
    """A cached pruning sweep (``labkit.cache`` document) in the shape the dashboard reads:
    ``{model, baseline, epochs, methods: {technique: [points]}, batch_size}`` plus the cache's
    ``command``, ``labkit``, ``torch``, ``threads``, ``created``, ``seconds``."""
    from .. import cache
    methods, baseline = {}, None
    for r in doc["rows"]:
        r = dict(r)
        technique = r.pop("technique")
        if technique == "baseline":
            baseline = r
        else:
            methods.setdefault(technique, []).append(r)
    p = doc["params"]
    return {**cache.meta(doc), "model": p["model"], "baseline": baseline, "epochs": p["epochs"], "methods": methods,
            "batch_size": p["batch_size"]}


def sweep(**kwargs) -> dict:
    """Recompute the sweep now (minutes; notebook 02's ``FULL = True``): ``recipe(**kwargs)``
    through ``labkit.cache.compute``, in the shape of ``load_sweep`` (not written to the cache)."""
    from .. import cache
    return view(cache.compute("pruning", **kwargs))


def architecture(base: nn.Module, technique: str, config: dict) -> nn.Module:
    """The dense architecture a sweep point runs as: ``base`` itself for fine-grained sparsity (dense
    kernels do the same work whatever the weights), ``channel_prune(base, ratio)`` for channel and
    joint points (the channel counts of the trained model, with other weights)."""
    validate.choice(technique, SWEEP, "method")
    return base if technique == "prune-fine" else channel_prune(base, config["ratio"])


def _as_run(base: nn.Module, technique: str, point: dict) -> nn.Module | None:
    """What a point runs as on dense kernels: ``None`` (the baseline's computation) for
    fine-grained sparsity, else its channel-pruned architecture (``architecture``)."""
    return None if technique == "prune-fine" else architecture(base, technique, point["config"])


def retime(sweep_data: dict, base: nn.Module, batch_size: int = 1, repeats: int = 20) -> dict:
    """A copy of ``sweep_data`` with every latency measured now, beside ``base``, in one run
    (``labkit.points.retime``; a fine-grained point runs exactly the baseline's computation, so
    it gets the baseline's time). Accuracy, size and MACs are kept (they do not depend on the machine)."""
    data = copy.deepcopy(sweep_data)
    flat = [(t, p) for t, pts in data["methods"].items() for p in pts]
    timed, base_ms = points.retime([{**p, "_technique": t} for t, p in flat], lambda q: _as_run(base, q["_technique"], q), base,
                                   batch_size, repeats, key=lambda q: (q["_technique"] != "prune-fine") and q["config"]["ratio"])
    for (t, p), q in zip(flat, timed):
        p["latency_ms"] = q["latency_ms"]
    data["baseline"]["latency_ms"] = base_ms
    data["batch_size"], data["threads"] = batch_size, torch.get_num_threads()
    return data


def time_live(point: dict, model: nn.Module, technique: str, sweep_data: dict, base: nn.Module,
              repeats: int = 20) -> dict:
    """Give a point computed live a latency on the scale of ``sweep_data`` (timed by ``retime``), so
    the dashboard compares like with like: it is timed beside ``base`` now (``labkit.points.retime``)
    and gets ``sweep baseline ms * (its ms / base ms)`` (a fine-grained point: exactly the sweep
    baseline's time). Returns ``point``."""
    validate.choice(technique, SWEEP, "method")
    (timed,), base_ms = points.retime([point], lambda q: None if technique == "prune-fine" else model, base,
                                      sweep_data.get("batch_size", 1), repeats)
    point["latency_ms"] = sweep_data["baseline"]["latency_ms"] * timed["latency_ms"] / base_ms
    return point


def load_sweep(path=None) -> dict:
    """The cached sweep (``notebooks/cache/02_pruning_sweep.json``) in the shape of ``view``, or a
    one-line error naming the command that makes it (``python -m labkit sweep pruning``)."""
    from .. import cache
    return cache.read("pruning", path)
