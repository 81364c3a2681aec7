"""The roofline model on this CPU (Williams, Waterman & Patterson, CACM 2009): why a depthwise
convolution runs far below the processor's peak.

A layer needs ``F`` floating-point operations (2 per MAC) and must move at least ``B`` bytes
(its input, weights and output, once each). Its **arithmetic intensity** is ``I = F / B``
(FLOP per byte). With a peak compute rate ``P`` (FLOP/s) and a memory bandwidth ``W`` (bytes/s),
it cannot run faster than ``min(P, W * I)``: below the *ridge point* ``I = P / W`` a layer is
**memory-bound** (the bytes, not the arithmetic, set its time), above it compute-bound.

``peak_flops`` times a large matrix product, ``bandwidth`` a large element-wise scale (read and
write), both with ``metrics.compare_latency``; ``layer_points`` times a standard, a depthwise and
a pointwise convolution and a Linear layer and places each at its intensity; ``bound_goals``
judges each layer against its roof at that intensity: at or near it (bound by memory left of the
ridge, by compute right of it), or below both roofs (neither roof: overhead-bound).
"""
from __future__ import annotations

import torch
from torch import nn

from .. import metrics


class _Scale(nn.Module):
    def forward(self, x):
        return x.mul_(1.0)          # in place: reads and writes every value, allocates nothing


def peak_flops(n: int = 1024, repeats: int = 10) -> float:
    """FLOP/s of an ``n x n`` by ``n x n`` fp32 matrix product (``2 n^3`` FLOPs), median of ``repeats``."""
    lat = metrics.compare_latency({"matmul": nn.Linear(n, n, bias=False)}, input_size=(n, n), repeats=repeats)
    return 2 * n ** 3 / (lat["matmul"].median_ms / 1e3)


def bandwidth(mib: float = 256, repeats: int = 10) -> float:
    """Bytes/s of ``x *= c`` over a ``mib`` MiB fp32 tensor (every value read and written once): main
    memory for a tensor far larger than the caches, the caches' bandwidth for one that fits in them."""
    n = int(mib * 2 ** 20) // 4
    lat = metrics.compare_latency({"scale": _Scale()}, input_size=(n,), repeats=repeats, warmup=2)
    return 2 * 4 * n / (lat["scale"].median_ms / 1e3)


def layers(channels: int = 128, resolution: int = 28) -> dict[str, tuple[nn.Module, tuple]]:
    """The layers placed on the roofline: ``{name: (module, input size)}``, batch 1."""
    c, r = channels, resolution
    return {f"3x3 conv {c}->{c}": (nn.Conv2d(c, c, 3, padding=1, bias=False), (1, c, r, r)),
            f"depthwise 3x3, {c} ch": (nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), (1, c, r, r)),
            f"pointwise 1x1 {c}->{c}": (nn.Conv2d(c, c, 1, bias=False), (1, c, r, r)),
            f"Linear {c * 8}->{c * 8}, batch 1": (nn.Linear(c * 8, c * 8, bias=False), (1, c * 8)),
            f"Linear {c * 8}->{c * 8}, batch 256": (nn.Linear(c * 8, c * 8, bias=False), (256, c * 8))}


def layer_points(channels: int = 128, resolution: int = 28, repeats: int = 20) -> list[dict]:
    """Each layer of ``layers``: FLOPs, minimum bytes (fp32 input + weights + output), intensity
    (FLOP/byte) and the FLOP/s measured here."""
    out = []
    for name, (m, size) in layers(channels, resolution).items():
        x = torch.zeros(size)
        with torch.no_grad():
            y = m(x)
        flops = 2 * metrics.count_macs(m, size) * size[0]      # count_macs counts per sample
        nbytes = 4 * (x.numel() + sum(p.numel() for p in m.parameters()) + y.numel())
        lat = metrics.compare_latency({name: m}, input_size=size, repeats=repeats)[name]
        out.append({"layer": name, "flops": flops, "bytes": nbytes, "intensity": flops / nbytes,
                    "latency_ms": lat.median_ms, "latency_p25_ms": lat.p25_ms, "latency_p75_ms": lat.p75_ms,
                    "flops_per_s": flops / (lat.median_ms / 1e3)})
    return out


def roof(point: dict, peak: float, bw: float) -> float:
    """The roofline's bound for ``point`` (FLOP/s): ``min(peak, bw * intensity)``."""
    return min(peak, bw * point["intensity"])


def share_of_roof(point: dict, peak: float, bw: float) -> dict:
    """The FLOP/s ``point`` achieved as a share of its roof (``roof``), with the interval its latency's
    quartiles give (``{"value", "lo", "hi"}``, the shape ``labkit.verdict.goal`` judges a timed goal by);
    the quartiles are filled in by ``layer_points`` (a point without them has lo = hi = value)."""
    r = roof(point, peak, bw)
    ms = point["latency_ms"]
    fast, slow = point.get("latency_p25_ms", ms), point.get("latency_p75_ms", ms)
    return {"value": point["flops"] / (ms / 1e3) / r, "lo": point["flops"] / (slow / 1e3) / r,
            "hi": point["flops"] / (fast / 1e3) / r, "within_noise": False}


def bound_goals(points: list[dict], peak: float, bw: float, near: float = 0.5) -> list[dict]:
    """One ``labkit.verdict.goal`` per layer: does it reach ``near`` of its roof at its intensity, with the
    main memory's bandwidth ``bw`` (the lowest memory roof: a layer whose tensors sit in the cache has a
    higher one)? "met": the layer is bound by that roof (memory left of the ridge ``peak / bw``, compute
    right of it); "NOT met": it runs below both roofs, so neither bounds it: overhead-bound (per-call
    dispatch, kernel efficiency). The verdicts and shares are timed: nbval masks them."""
    from .. import verdict
    return [verdict.goal(f"{p['layer']}: achieved / roof min(peak, main-memory bw x I)", share_of_roof(p, peak, bw), near)
            for p in points]


def figure(points: list[dict], peak: float, bw: float, title: str | None = None, cache_bw: float | None = None):
    """The roofline (log-log): the compute roof, the memory roof (and the cache's, when given), the
    ridge point, and each layer at its intensity."""
    from matplotlib.figure import Figure
    from ..ui.plots import annotate_apart
    fig = Figure(figsize=(7.2, 4.4), layout="constrained")
    ax = fig.add_subplot()
    lo = min(p["intensity"] for p in points) / 3
    hi = max(max(p["intensity"] for p in points) * 3, 3 * peak / bw)
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    ax.plot(xs, [min(peak, bw * x) / 1e9 for x in xs], color="k", lw=1.5, label="roof: min(peak, memory bandwidth x I)")
    if cache_bw is not None:
        ax.plot(xs, [min(peak, cache_bw * x) / 1e9 for x in xs], color="0.45", lw=1.2, ls="--",
                label="roof with the cache's bandwidth")
    ax.axvline(peak / bw, color="0.5", ls=":", lw=1)
    ax.text(peak / bw, peak / 1e9 * 1.15, f" ridge: {peak / bw:.1f} FLOP/byte", fontsize=8, color="0.3")
    for i, p in enumerate(points):
        ax.scatter([p["intensity"]], [p["flops_per_s"] / 1e9], s=60, color=f"C{i}", edgecolors="k", zorder=3,
                   label=p["layer"])
    ax.set_xscale("log"), ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte moved, fp32)")
    ax.set_ylabel("GFLOP/s achieved")
    ax.set_ylim(top=peak / 1e9 * 2.5)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title or "roofline of this CPU: where each layer runs", fontsize=10)
    return fig
