"""Pareto fronts and their hypervolume, for every trade-off of the lab (one copy: the ui's plots,
the explorer's families, NAS's search and the joint allocator's options all use it).

- ``front(points, x, y)``: the points no other point dominates: ``x`` lower-or-equal (a cost:
  bytes, latency) and ``y`` higher-or-equal (accuracy, a score; ``maximize_y=False``: lower, a
  second cost), one of them strictly; sorted by ``x`` (then best ``y`` first). Points with the
  same ``(x, y)`` do not dominate each other: all are kept, in their input order, or only the
  first (``unique=True``). A point is a mapping: ``p[x]``, ``p[y]``.
- ``hypervolume(front, x_ref, y_ref, x, y, log=False)``: the area ``front`` dominates up to the
  reference corner (``x_ref``, ``y_ref``) (Zitzler & Thiele, 1999), with ``x`` linear or, with
  ``log=True``, in doublings (log2). Points beyond the corner add nothing.

``front`` walks the points once, sorted (``O(n log n)``), and keeps a point when it beats the
last kept one: the same set as comparing every pair, which the tests check on random points.
"""
from __future__ import annotations

import math


def front(points, x: str = "size_bytes", y: str = "accuracy_pct", maximize_y: bool = True,
          unique: bool = False) -> list:
    """The non-dominated ``points`` (lower ``x``; higher ``y``, or lower with ``maximize_y=False``),
    sorted by ``(x, best y first)``; ties of ``(x, y)`` kept in input order, or once with ``unique``."""
    key = (lambda p: (p[x], -p[y])) if maximize_y else (lambda p: (p[x], p[y]))
    best = []
    for p in sorted(points, key=key):
        if best:
            last = best[-1]
            if p[y] <= last[y] if maximize_y else p[y] >= last[y]:
                # cheaper-or-equal and at least as good: dominated, unless it is the same point again
                if unique or not (p[x] == last[x] and p[y] == last[y]):
                    continue
        best.append(p)
    return best


def hypervolume(front_points, x_ref: float, y_ref: float, x: str = "size_bytes", y: str = "accuracy_pct",
                log: bool = False):
    """Area dominated by ``front_points`` (lower ``x``, higher ``y``) between them and the corner
    (``x_ref``, ``y_ref``): each point, taken by ``x``, adds (the next point's ``x`` or ``x_ref``,
    whichever is smaller, minus its ``x``; log2 of both with ``log``) x (its ``y`` - ``y_ref``).
    Points at or beyond the corner add nothing. ``front_points`` is used as given (pass a front)."""
    pts = sorted(front_points, key=lambda p: p[x])
    area = 0.0
    for i, p in enumerate(pts):
        if p[x] >= x_ref or p[y] <= y_ref:
            continue
        nxt = min(pts[i + 1][x], x_ref) if i + 1 < len(pts) else x_ref
        width = math.log2(nxt) - math.log2(p[x]) if log else nxt - p[x]
        area += width * (p[y] - y_ref)
    return area
