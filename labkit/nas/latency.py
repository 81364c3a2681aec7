"""A hardware-aware latency model: a per-block lookup table (LUT) measured on this CPU, summed
per architecture, the way nn-Meter (Zhang et al., MobiSys 2021) and ProxylessNAS / FBNet predict
a network's latency without running it.

A block's key is ``(block, in, out, resolution, stride, kernel, expand, batch)`` with the input
resolution; the stem (``"stem"``) and the head (``"head"``: 1x1 conv, pooling, classifier) get
keys too. ``keys(arch)`` lists an architecture's keys in order, ``predict(lut, arch)`` sums them.
``measure_lut`` times every key of the space (interleaved in chunks, medians), ``measure_archs``
times whole networks end to end (interleaved), ``flops_fit`` is the baseline model a LUT must
beat: latency = a * MACs + b, least squares on architectures other than the ones it is tested on.
"""
from __future__ import annotations

import random
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from .. import metrics, timing
from ..blocks import BLOCKS, conv_bn_act, round_channels
from ..models import NUM_CLASSES
from . import space

STEM, HEAD, IMAGE = 16, 128, 28         # CompactNet's defaults at width 1: stem channels, head channels, input size
Key = tuple   # (block, in, out, resolution, stride, kernel, expand, batch)


def _out_res(res: int, stride: int) -> int:
    return (res + stride - 1) // stride if stride > 1 else res     # 'same' padding: ceil(res / stride)


def keys(arch, batch: int = 1) -> list[Key]:
    """The LUT keys of ``arch`` in execution order: the stem, every block (each repeat its own
    key: the first has the stage's stride and the previous width as input), the head."""
    arch = space.canonical(arch)
    c, res = STEM, _out_res(IMAGE, 2)
    out = [("stem", 1, STEM, IMAGE, 2, 3, 1, batch)]
    for block, expand, width, depth, stride, kernel in arch:
        for i in range(depth):
            s = stride if i == 0 else 1
            out.append((block, c, width, res, s, kernel, expand, batch))
            c, res = width, _out_res(res, s)
    out.append(("head", c, HEAD, res, 1, 1, 1, batch))
    return out


class _Head(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = conv_bn_act(c, round_channels(HEAD), 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(round_channels(HEAD), NUM_CLASSES)

    def forward(self, x):
        return self.classifier(self.pool(self.conv(x)).flatten(1))


def module(key: Key) -> nn.Module:
    """The module a key times (random weights: a forward pass's time does not depend on them)."""
    block, c_in, c_out, res, stride, kernel, expand, batch = key
    if block == "stem":
        return conv_bn_act(c_in, c_out, kernel, stride).eval()
    if block == "head":
        return _Head(c_in).eval()
    return BLOCKS[block](c_in, c_out, stride=stride, expand=expand, kernel=kernel).eval()


def input_size(key: Key) -> tuple:
    block, c_in, c_out, res, stride, kernel, expand, batch = key
    return (batch, c_in, res, res)


def all_keys(batch: int = 1) -> list[Key]:
    """Every key any architecture of the space can need (the stem, each stage's first block from
    every previous width, its repeats, every head), sorted."""
    found = {("stem", 1, STEM, IMAGE, 2, 3, 1, batch)}
    res, prev = _out_res(IMAGE, 2), (STEM,)
    for s, stride in enumerate(space.STRIDES):
        c = space.choices(s)
        out_res = _out_res(res, stride)
        for (block, expand) in c["op"]:
            for k in c["kernel"]:
                for w in c["width"]:
                    found |= {(block, p, w, res, stride, k, expand, batch) for p in prev}
                    found.add((block, w, w, out_res, 1, k, expand, batch))
        res, prev = out_res, c["width"]
    found |= {("head", p, HEAD, res, 1, 1, 1, batch) for p in prev}
    return sorted(found, key=repr)


def key_name(key: Key) -> str:
    return "|".join(str(v) for v in key)


def parse_key(name: str) -> Key:
    parts = name.split("|")
    return (parts[0], *map(int, parts[1:]))


STATS = ("median", "min")


def measure_keys(todo: Sequence[Key], repeats: int = 15, chunk: int = 24, progress: bool = False) -> dict[str, dict]:
    """``{"median": {key: ms}, "min": {key: ms}}``: each key's module timed on its input, interleaved
    within chunks of ``chunk`` shuffled keys, so slow and fast blocks, and the machine's drifts,
    are spread alike. The median is the usual statistic; on a shared, overloaded CPU most samples
    are pre-empted and the minimum is what the block costs when it runs."""
    order = list(todo)
    random.Random(0).shuffle(order)
    out: dict[str, dict] = {s: {} for s in STATS}
    chunks = [order[i:i + chunk] for i in range(0, len(order), chunk)]
    if progress:
        from tqdm.auto import tqdm
        chunks = tqdm(chunks, desc="LUT")
    for part in chunks:
        times = interleaved({key_name(k): (module(k), input_size(k)) for k in part}, repeats)
        for s in STATS:
            out[s].update({parse_key(n): t[s] for n, t in times.items()})
    return out


def interleaved(models: dict[str, tuple[nn.Module, tuple]], repeats: int, min_sample_s: float = 0.002,
                warmup: int = 3) -> dict[str, dict]:
    """The lab's timing protocol (``labkit.timing.compare``) for modules with different input shapes:
    ``{name: {"median": ms, "min": ms}}``, shuffled rounds, each sample ``number`` calls long. No A/A
    control and no added rounds: a LUT entry is a block's cost, not a comparison with a baseline."""
    times = timing.compare({n: m for n, (m, _) in models.items()}, {n: shape for n, (_, shape) in models.items()},
                           rounds=repeats, warmup=warmup, min_sample_s=min_sample_s, control=None, extend=False,
                           guard=False)
    return {n: {"median": t.median_ms, "min": t.min_ms} for n, t in times.items()}


def predict(lut: dict, arch, batch: int = 1) -> float:
    """The LUT's latency of ``arch`` in ms: the sum of its keys' entries (``lut`` maps keys, or
    their ``key_name`` strings, to ms)."""
    total = 0.0
    for k in keys(arch, batch):
        v = lut.get(k, lut.get(key_name(k)))
        if v is None:
            raise KeyError(f"the LUT has no entry {key_name(k)}: measure it with labkit.nas.latency.measure_keys")
        total += v
    return total


def measure_archs(archs: Sequence, batch: int = 1, repeats: int = 15) -> list[dict]:
    """``{"median": ms, "min": ms}`` end to end for each architecture (random weights), all timed
    interleaved in one run."""
    models = {str(i): (space.build(a).eval(), (batch, 1, IMAGE, IMAGE)) for i, a in enumerate(archs)}
    times = interleaved(models, repeats)
    return [times[str(i)] for i in range(len(archs))]


def flops_fit(macs: Iterable[float], ms: Iterable[float]) -> tuple[float, float]:
    """Least-squares ``ms = a * MACs + b``: returns ``(a, b)``."""
    x, y = np.asarray(list(macs), float), np.asarray(list(ms), float)
    a, b = np.polyfit(x, y, 1)
    return float(a), float(b)


def errors(predicted: Sequence[float], measured: Sequence[float]) -> np.ndarray:
    """Relative errors ``(predicted - measured) / measured``."""
    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    return (p - m) / m


def summary(predicted: Sequence[float], measured: Sequence[float]) -> dict:
    """``{"n", "within_10pct" (share with |error| <= 10 %), "mape" (%), "median_error_pct"}``."""
    e = errors(predicted, measured)
    return {"n": int(len(e)), "within_10pct": float(np.mean(np.abs(e) <= 0.10)), "mape": float(100 * np.mean(np.abs(e))),
            "median_error_pct": float(100 * np.median(e))}


def recipe(batch: int = 1, n_fit: int = 30, n_test: int = 50, repeats: int = 21, lut_repeats: int = 9,
           seed: int = 1234, whole_space: bool = True, progress: bool = True, log=print):
    """Measure the LUT at ``batch`` (every key of the space, or with ``whole_space=False`` only the
    keys of the architectures below: a quick smoke test), then ``n_fit + n_test`` random
    architectures end to end (interleaved); the FLOPs fit uses the first ``n_fit``, both models are
    tested on the other ``n_test`` (held out: never used to build either model)."""
    import time
    rng = random.Random(seed)
    archs, seen = [], set()
    while len(archs) < n_fit + n_test:
        a = space.sample(rng)
        if a not in seen:
            seen.add(a)
            archs.append(a)
    todo = all_keys(batch) if whole_space else sorted({k for a in archs for k in keys(a, batch)}, key=repr)
    t0 = time.perf_counter()
    lut = measure_keys(todo, repeats=lut_repeats, progress=progress)
    lut_s = time.perf_counter() - t0
    log(f"LUT: {len(lut['median'])} entries in {lut_s:.0f} s")
    ms = measure_archs(archs, batch, repeats)
    rows = []
    for i, (a, m) in enumerate(zip(archs, ms)):
        net = space.build(a)
        rows.append({"config": {"index": i, "arch_name": space.describe(a), "split": "fit" if i < n_fit else "test"},
                     "arch": [list(r) for r in a], "latency_ms": m["median"], "latency_min_ms": m["min"],
                     "lut_ms": predict(lut["median"], a, batch), "lut_min_ms": predict(lut["min"], a, batch),
                     "macs": metrics.count_macs(net), "params": metrics.count_params(net)})
    params = {"batch": batch, "n_fit": n_fit, "n_test": n_test, "repeats": repeats, "lut_repeats": lut_repeats,
              "seed": seed, "whole_space": whole_space, "lut_entries": len(lut["median"]), "lut_seconds": round(lut_s, 1)}
    return rows, params, {f"lut_{s}": {key_name(k): round(v, 6) for k, v in sorted(lut[s].items(), key=lambda kv: repr(kv[0]))}
                          for s in STATS}


def view(doc: dict) -> dict:
    """``{"lut": {"median": {key: ms}, "min": {key: ms}}, "fit": rows, "test": rows, "params", ...metadata}``;
    each row with ``arch`` (a tuple), ``latency_ms`` / ``latency_min_ms`` (end to end, median / min),
    ``lut_ms`` / ``lut_min_ms`` (the LUT's sums), ``macs``, ``params``."""
    from .. import cache
    rows = [{**r, "arch": space.canonical(r["arch"])} for r in doc["rows"]]
    return {**cache.meta(doc), "params": doc["params"],
            "lut": {s: {parse_key(k): v for k, v in doc["extra"][f"lut_{s}"].items()} for s in STATS},
            "fit": [r for r in rows if r["config"]["split"] == "fit"],
            "test": [r for r in rows if r["config"]["split"] == "test"]}


def load_sweep(path=None) -> dict:
    """The cached LUT and its validation (``python -m labkit sweep nas-latency``)."""
    from .. import cache
    return cache.read("nas-latency", path)


def overhead(fit_rows: Sequence[dict], measured: str = "latency_min_ms", predicted: str = "lut_min_ms") -> float:
    """The network's own cost that the blocks timed alone miss (the head's and the container's
    calls, caches warmed across blocks): the median of measured minus LUT over ``fit_rows``, one
    constant fitted on the same architectures as the FLOPs model's two."""
    return float(np.median([r[measured] - r[predicted] for r in fit_rows]))
