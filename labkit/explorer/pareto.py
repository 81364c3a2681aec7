"""Pareto fronts per family, their hypervolume, and the constraint query.

A front keeps the points no other point of the family beats on both accuracy (higher) and cost
(lower: bytes, MACs, parameters, or the batch-1 latency *relative to the point's own baseline*,
like for like: ``rel_latency``). The **hypervolume** of a front (Zitzler & Thiele, 1999) is the
area it dominates up to a reference corner; here the cost axis is in doublings (log2), so one
unit is "one halving of the cost at one point of accuracy", and the corner is chance accuracy
(10 %, ten classes) and twice the largest cost of all points, the same for every family, so the
numbers compare families.

Latency is never compared across runs: ``rel_latency`` is each run's own paired ratio (exactly 1
within noise), and an absolute ``latency_ms`` axis or bound is refused unless every point comes
from one timing run (``run``: the explorer's re-measured models). A simulated point (fake
quantisation) is on no latency front.
"""
from __future__ import annotations

from .. import pareto

CHANCE_PCT = 10.0
AXES = {"size_bytes": "size (bytes)",
        "rel_latency": "latency / its own baseline's, like for like (batch 1, one run each; 1: within noise)",
        "macs": "MACs", "params": "parameters", "latency_ms": "latency at batch 1 (ms, points of one run only)"}
LATENCY_AXES = ("rel_latency", "latency_ms")


def _check_axis(x: str) -> None:
    if x not in AXES:
        raise ValueError(f"x={x!r} is not an axis; choose one of {list(AXES)}")


def one_run(points) -> None:
    """Refuse absolute latencies of points from more than one timing run (or of unknown runs):
    on a shared machine the same model reads 1.5x apart in two runs, so only ratios measured within
    a run compare (``rel_latency``)."""
    runs = {p.get("run") for p in points}
    if None in runs or len(runs) > 1:
        raise ValueError("absolute latencies from different runs are not comparable: use x='rel_latency' "
                         "(each point's latency over its own run's baseline) or max_rel_latency=, or points "
                         "re-measured in one run (labkit.explorer.remeasure.as_entries)")


def timed(points, x: str) -> list[dict]:
    """The points that may stand on axis ``x``: with a value > 0, and on a latency axis neither a
    simulated point (fake quantisation claims no speed) nor, for ``latency_ms``, points of several runs."""
    pts = [p for p in points if p.get(x) is not None and p[x] > 0]
    if x in LATENCY_AXES:
        pts = [p for p in pts if p.get("form") != "simulated"]
    if x == "latency_ms" and pts:
        one_run(pts)
    return pts


def front(points, x: str = "size_bytes", y: str = "accuracy_pct") -> list[dict]:
    """The points no other point dominates (``x`` lower-or-equal, ``y`` higher-or-equal, one
    strictly), sorted by ``x``; points with the same ``(x, y)`` are kept once."""
    _check_axis(x)
    return pareto.front(timed(points, x), x, y, unique=True)


def hypervolume(front_points, x_ref: float, x: str = "size_bytes", y: str = "accuracy_pct",
                y_ref: float = CHANCE_PCT) -> float:
    """Area dominated by ``front_points`` between them and the corner (``x_ref``, ``y_ref``), with
    ``x`` in log2: accuracy points x doublings of cost. Points beyond the corner add nothing."""
    return pareto.hypervolume(front_points, x_ref, y_ref, x, y, log=True)


def corner(points, x: str = "size_bytes") -> float:
    """The hypervolume's reference cost: twice the largest ``x`` of ``points`` (every front point then adds)."""
    return 2.0 * max(p[x] for p in points if p.get(x) is not None)


def fronts(entries, x: str = "size_bytes", batch_size: int | None = 1) -> dict:
    """``{family: {"front": [...], "points": n, "hypervolume": area}}`` over ``entries`` at
    ``batch_size`` (None: all), technique families only, one corner for all families."""
    from .records import NOT_TECHNIQUES, families
    _check_axis(x)
    pts = timed([e for e in entries if batch_size is None or e["batch_size"] == batch_size], x)
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
          min_accuracy_pct: float | None = None, families=None, batch_size: int = 1,
          max_rel_latency: float | None = None) -> list[dict]:
    """The points at ``batch_size`` that meet every given constraint (bytes, accuracy, and latency:
    ``max_rel_latency`` on each point's latency over its own run's baseline, like for like, e.g. 1.0:
    "not slower than its baseline"; ``max_latency_ms`` only over points of one timing run), in
    ``families`` if given, most accurate first. A latency bound leaves out every point without a
    speed (simulated, or not timed beside its baseline)."""
    pool = [e for e in entries if e["batch_size"] == batch_size and (families is None or e["family"] in families)]
    for bound, axis in ((max_latency_ms, "latency_ms"), (max_rel_latency, "rel_latency")):
        if bound is not None and bound != float("inf"):
            pool = timed(pool, axis)

    def ok(e):
        return ((max_bytes is None or e["size_bytes"] <= max_bytes)
                and (max_latency_ms is None or e["latency_ms"] <= max_latency_ms)
                and (max_rel_latency is None or max_rel_latency == float("inf") or e["rel_latency"] <= max_rel_latency)
                and (min_accuracy_pct is None or e["accuracy_pct"] >= min_accuracy_pct))
    return sorted((e for e in pool if ok(e)), key=lambda e: (-e["accuracy_pct"], e["size_bytes"], e["label"]))
