"""Notebook 03's cached sweeps, one recipe each (``python -m labkit sweep quant-ptq | quant-qat |
quant-mixed`` caches them through ``labkit.cache``):

- ``ptq_recipe``: accuracy vs bits for every PTQ mode and range method, and k-means weight sharing;
- ``qat_recipe``: PTQ vs quantization-aware training at each weight width;
- ``mixed_recipe``: the sensitivity table and mixed allocations at several size budgets.

``load_ptq`` / ``load_qat`` / ``load_mixed`` read a cache and ``sweep_ptq`` / ``sweep_qat`` /
``sweep_mixed`` recompute it now (``FULL = True``), both in the shape notebook 03 reads.
"""
from __future__ import annotations

import time
from functools import partial
from . import quant
from .. import points, validate
from .mixed import OPTIONS, SENSITIVITY_IMAGES, allocate_bits, budget_bytes, layer_bytes, mixed_point, sensitivity
from .ptq import CALIB_IMAGES, quantize_model, share_weights, size_bytes
from .qat import ACT_BITS, EPOCHS, LR, quantization_aware_training


BITS = (8, 7, 6, 5, 4, 3, 2)


MODES = {"weights": False, "weights+activations": True}


QAT_BITS = (8, 6, 4, 3, 2)


AVG_BITS = (2.25, 2.5, 2.75, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0)


def _accuracy(eval_limit: int | None):
    from ..train import evaluate
    return evaluate if eval_limit is None else partial(evaluate, limit=eval_limit)


# ---------------------------------------------------------------------------- PTQ and k-means
def ptq_point(model, bits, mode: str, method: str, accuracy_fn=None) -> dict:
    """One PTQ point: accuracy (test, %), bytes (``size_bytes``), MACs, with its config."""
    from ..metrics import count_macs
    validate.choice(mode, MODES, "PTQ mode")
    q = quantize_model(model, bits, bits if MODES[mode] else None, method)
    return points.make({"bits": bits, "mode": mode, "range": method}, accuracy=(accuracy_fn or _accuracy(None))(q),
                       size_bytes=size_bytes(q), macs=count_macs(q))


def kmeans_point(model, bits, accuracy_fn=None) -> dict:
    """One weight-sharing point: k-means at ``bits``, stored as the ``codebook`` format."""
    m = share_weights(model, bits)
    return points.make({"bits": bits, "mode": "k-means weights"}, m, (accuracy_fn or _accuracy(None))(m),
                       storage="codebook", bits=bits)


def ptq_recipe(model: str = "cnn", bits=BITS, methods=quant.RANGE_METHODS, modes=tuple(MODES),
               eval_limit: int | None = None, progress=print):
    """Accuracy vs bits for every PTQ mode and range method, and for k-means weight sharing
    (test accuracy on the first ``eval_limit`` test images, all by default). Rows: the PTQ points
    (``"technique": "quant-ptq"``), then the k-means points (``"quant-kmeans"``)."""
    from .. import zoo
    net = zoo.load(model)
    acc = _accuracy(eval_limit)
    pts, kmeans = [], []
    t0 = time.perf_counter()
    for b in bits:
        for mode in modes:
            for method in methods:
                pts.append(ptq_point(net, b, mode, method, acc))
                progress(f"[{time.perf_counter() - t0:6.1f} s] {pts[-1]['config']}: "
                         f"{pts[-1]['accuracy_pct']:.2f} %")
        kmeans.append(kmeans_point(net, b, acc))
        progress(f"[{time.perf_counter() - t0:6.1f} s] k-means {b} bits: {kmeans[-1]['accuracy_pct']:.2f} %")
    rows = [{"technique": "quant-ptq", **p} for p in pts] + [{"technique": "quant-kmeans", **p} for p in kmeans]
    params = {"model": model, "calib_images": CALIB_IMAGES, "bits": list(bits), "methods": list(methods),
              "modes": list(modes), "eval_limit": eval_limit}
    return rows, params, {}


def ptq_view(doc: dict) -> dict:
    """A cached PTQ sweep as notebook 03 reads it: ``{model, calib_images, bits, ptq: [points],
    kmeans: [points]}`` plus the cache's ``command``, ``labkit``, ``torch``, ``threads``, ``created``, ``seconds``."""
    from .. import cache
    p = doc["params"]
    out = {**cache.meta(doc), "model": p["model"], "calib_images": p["calib_images"], "bits": p["bits"],
           "ptq": [], "kmeans": []}
    for r in doc["rows"]:
        r = dict(r)
        out["kmeans" if r.pop("technique") == "quant-kmeans" else "ptq"].append(r)
    return out


def sweep_ptq(**kwargs) -> dict:
    """Recompute the PTQ / k-means sweep now (``ptq_recipe(**kwargs)``), in the shape of ``load_ptq``."""
    from .. import cache
    return ptq_view(cache.compute("quant-ptq", **kwargs))


def load_ptq(path=None) -> dict:
    """The cached PTQ / k-means sweep (``python -m labkit sweep quant-ptq``) in the shape of ``ptq_view``."""
    from .. import cache
    return cache.read("quant-ptq", path)


# ---------------------------------------------------------------------------- QAT
def qat_recipe(model: str = "cnn", bits=QAT_BITS, epochs: float = EPOCHS, lr: float = LR, limit: int | None = None,
               eval_limit: int | None = None, progress=print):
    """PTQ (weights and activations, ``mse`` ranges) vs QAT (``epochs`` of the first ``limit``
    training images) at each of ``bits`` weight bits, 8-bit inputs; rows are points whose config
    says the ``method`` (``ptq`` or ``qat``)."""
    from .. import zoo
    from ..metrics import count_macs
    net = zoo.load(model)
    acc = _accuracy(eval_limit)
    pts = []
    t0 = time.perf_counter()
    for b in bits:
        for how in ("ptq", "qat"):
            if how == "ptq":
                q = quantize_model(net, b, ACT_BITS, "mse")
            else:
                q = quantization_aware_training(net, b, ACT_BITS, epochs, lr, limit=limit, progress=False)
            pts.append(points.make({"bits": b, "act_bits": ACT_BITS, "method": how,
                                     **({"epochs": epochs, "lr": lr} if how == "qat" else {})},
                                    accuracy=acc(q), size_bytes=size_bytes(q), macs=count_macs(q)))
            progress(f"[{time.perf_counter() - t0:6.1f} s] {pts[-1]['config']}: {pts[-1]['accuracy_pct']:.2f} %")
    params = {"model": model, "bits": list(bits), "act_bits": ACT_BITS, "epochs": epochs, "lr": lr, "limit": limit,
              "eval_limit": eval_limit}
    return pts, params, {}


def qat_view(doc: dict) -> dict:
    """A cached QAT sweep as notebook 03 reads it: ``{model, points}`` plus the cache's metadata."""
    from .. import cache
    return {**cache.meta(doc), "model": doc["params"]["model"], "points": [dict(r) for r in doc["rows"]]}


def sweep_qat(**kwargs) -> dict:
    """Recompute the QAT sweep now (``qat_recipe(**kwargs)``, e.g. ``epochs=``, ``lr=``), in the shape
    of ``load_qat``."""
    from .. import cache
    return qat_view(cache.compute("quant-qat", **kwargs))


def load_qat(path=None) -> dict:
    """The cached QAT sweep (``python -m labkit sweep quant-qat``) in the shape of ``qat_view``."""
    from .. import cache
    return cache.read("quant-qat", path)


# ---------------------------------------------------------------------------- mixed precision
def mixed_recipe(model: str = "cnn", avg_bits=AVG_BITS, options=OPTIONS, sensitivity_images: int | None = None,
                 eval_limit: int | None = None, progress=print):
    """Sensitivity table (on ``sensitivity_images`` training images, default ``SENSITIVITY_IMAGES``),
    then mixed allocations among ``options`` bits at every ``avg_bits`` budget and uniform bits at
    the whole numbers among them (weights only, ``mse`` ranges), evaluated on the (first
    ``eval_limit``) test images. Rows: the points; ``extra["sensitivity"]``: ``{layer: {bits: loss increase}}``."""
    from .. import zoo
    from ..data import subset
    net = zoo.load(model)
    acc = _accuracy(eval_limit)
    t0 = time.perf_counter()
    batches = None if sensitivity_images is None else subset("sensitivity", 500, limit=sensitivity_images)
    sens = sensitivity(net, options, batches)
    progress(f"[{time.perf_counter() - t0:6.1f} s] sensitivity measured")
    sizes, rest = layer_bytes(net, options)
    pts = []
    for a in avg_bits:
        alloc = allocate_bits(sens, sizes, budget_bytes(net, a), rest)
        pts.append(mixed_point(net, alloc, {"avg_bits": a, "allocation": "mixed"}, acc))
        progress(f"[{time.perf_counter() - t0:6.1f} s] mixed {a}: {alloc} {pts[-1]['accuracy_pct']:.2f} %")
        if float(a).is_integer() and int(a) in options:
            names = list(alloc)
            pts.append(mixed_point(net, {n: int(a) for n in names}, {"avg_bits": a, "allocation": "uniform"}, acc))
            progress(f"[{time.perf_counter() - t0:6.1f} s] uniform {a}: {pts[-1]['accuracy_pct']:.2f} %")
    params = {"model": model, "options": list(options), "sensitivity_images": sensitivity_images or SENSITIVITY_IMAGES,
              "avg_bits": list(avg_bits), "eval_limit": eval_limit}
    extra = {"sensitivity": {n: {str(b): v for b, v in t.items()} for n, t in sens.items()}}
    return pts, params, extra


def mixed_view(doc: dict) -> dict:
    """A cached mixed-precision sweep as notebook 03 reads it: ``{model, options, sensitivity_images,
    sensitivity: {layer: {bits (int): loss increase}}, points}`` plus the cache's metadata."""
    from .. import cache
    p = doc["params"]
    sens = {n: {int(b): v for b, v in t.items()} for n, t in doc["extra"]["sensitivity"].items()}
    return {**cache.meta(doc), "model": p["model"], "options": p["options"],
            "sensitivity_images": p["sensitivity_images"], "sensitivity": sens,
            "points": [dict(r) for r in doc["rows"]]}


def sweep_mixed(**kwargs) -> dict:
    """Recompute the mixed-precision sweep now (``mixed_recipe(**kwargs)``), in the shape of ``load_mixed``."""
    from .. import cache
    return mixed_view(cache.compute("quant-mixed", **kwargs))


def load_mixed(path=None) -> dict:
    """The cached mixed-precision sweep (``python -m labkit sweep quant-mixed``) in the shape of ``mixed_view``."""
    from .. import cache
    return cache.read("quant-mixed", path)
