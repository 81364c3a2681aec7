"""Pareto fronts per family, their hypervolume, and the constraint query.

A front keeps the points no other point of the family beats on both accuracy (higher) and cost
(lower: bytes, or batch-1 latency). The **hypervolume** of a front (Zitzler & Thiele, 1999) is the
area it dominates up to a reference corner; here the cost axis is in doublings (log2), so one
unit is "one halving of the cost at one point of accuracy", and the corner is chance accuracy
(10 %, ten classes) and twice the largest cost of all points, the same for every family, so the
numbers compare families.
"""
from __future__ import annotations

import math

CHANCE_PCT = 10.0
AXES = {"size_bytes": "size (bytes)", "latency_ms": "latency at batch 1 (ms, as recorded)",
        "rel_latency": "latency / its run's baseline (batch 1)", "macs": "MACs"}


def _check_axis(x: str) -> None:
    if x not in AXES:
        raise ValueError(f"x={x!r} is not an axis; choose one of {list(AXES)}")


def front(points, x: str = "size_bytes", y: str = "accuracy_pct") -> list[dict]:
    """The points no other point dominates (``x`` lower-or-equal, ``y`` higher-or-equal, one
    strictly), sorted by ``x``; points with the same ``(x, y)`` are kept once."""
    _check_axis(x)
    pts = [p for p in points if p.get(x) is not None and p[x] > 0]
    best, seen = [], set()
    for p in sorted(pts, key=lambda p: (p[x], -p[y])):
        if best and p[y] <= best[-1][y]:
            continue                       # a cheaper-or-equal point is at least as accurate
        if (p[x], p[y]) not in seen:
            seen.add((p[x], p[y]))
            best.append(p)
    return best


def hypervolume(front_points, x_ref: float, x: str = "size_bytes", y: str = "accuracy_pct",
                y_ref: float = CHANCE_PCT) -> float:
    """Area dominated by ``front_points`` between them and the corner (``x_ref``, ``y_ref``), with
    ``x`` in log2: accuracy points x doublings of cost. Points beyond the corner add nothing."""
    pts = sorted(front_points, key=lambda p: p[x])
    area = 0.0
    for i, p in enumerate(pts):
        if p[x] >= x_ref or p[y] <= y_ref:
            continue
        nxt = min(pts[i + 1][x], x_ref) if i + 1 < len(pts) else x_ref
        area += (math.log2(nxt) - math.log2(p[x])) * (p[y] - y_ref)
    return area


def corner(points, x: str = "size_bytes") -> float:
    """The hypervolume's reference cost: twice the largest ``x`` of ``points`` (every front point then adds)."""
    return 2.0 * max(p[x] for p in points if p.get(x) is not None)


def fronts(entries, x: str = "size_bytes", batch_size: int | None = 1) -> dict:
    """``{family: {"front": [...], "points": n, "hypervolume": area}}`` over ``entries`` at
    ``batch_size`` (None: all), technique families only, one corner for all families."""
    from .records import NOT_TECHNIQUES, families
    _check_axis(x)
    pts = [e for e in entries if (batch_size is None or e["batch_size"] == batch_size) and e.get(x)]
    if not pts:
        return {}
    ref = corner(pts, x)
    out = {}
    for fam in families(pts):
        members = [e for e in pts if e["family"] == fam and fam not in NOT_TECHNIQUES]
        f = front(members, x)
        out[fam] = {"front": f, "points": len(members), "hypervolume": hypervolume(f, ref, x)}
    return out


def query(entries, max_bytes: float | None = None, max_latency_ms: float | None = None,
          min_accuracy_pct: float | None = None, families=None, batch_size: int = 1) -> list[dict]:
    """The points at ``batch_size`` that meet every given constraint (bytes, batch-``batch_size``
    latency as recorded, accuracy), in ``families`` if given, most accurate first."""
    def ok(e):
        return (e["batch_size"] == batch_size
                and (families is None or e["family"] in families)
                and (max_bytes is None or e["size_bytes"] <= max_bytes)
                and (max_latency_ms is None or e["latency_ms"] <= max_latency_ms)
                and (min_accuracy_pct is None or e["accuracy_pct"] >= min_accuracy_pct))
    return sorted((e for e in entries if ok(e)), key=lambda e: (-e["accuracy_pct"], e["size_bytes"], e["label"]))
