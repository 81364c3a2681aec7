"""labkit.pareto: the one front and hypervolume, checked against the four copies it replaced
(kept here verbatim as references) on random point sets full of ties."""
import math
import random

import pytest

from labkit import pareto
from labkit.explorer import pareto as explorer_pareto
from labkit.joint import budget
from labkit.nas import search
from labkit.ui import plots


# ---- the copies labkit had before issue 28, verbatim -----------------------------------------------

def old_ui_pareto_front(points, x="size_bytes", y="accuracy_pct"):
    def dominated(p):
        return any(q[x] <= p[x] and q[y] >= p[y] and (q[x] < p[x] or q[y] > p[y]) for q in points)
    return sorted((p for p in points if not dominated(p)), key=lambda p: (p[x], -p[y]))


def old_explorer_front(points, x="size_bytes", y="accuracy_pct"):
    pts = [p for p in points if p.get(x) is not None and p[x] > 0]
    best, seen = [], set()
    for p in sorted(pts, key=lambda p: (p[x], -p[y])):
        if best and p[y] <= best[-1][y]:
            continue
        if (p[x], p[y]) not in seen:
            seen.add((p[x], p[y]))
            best.append(p)
    return best


def area_by_strips(points, x_ref, y_ref, x="size_bytes", y="accuracy_pct", log=True):
    """The dominated area computed another way: cut the cost axis at every point's cost and, in each
    strip below the corner, take the best accuracy any point at most that cheap reaches."""
    f = math.log2 if log else (lambda v: v)
    cuts = sorted({p[x] for p in points if p[x] < x_ref}) + [x_ref]
    area = 0.0
    for lo, hi in zip(cuts, cuts[1:]):
        best = max(p[y] for p in points if p[x] <= lo)
        area += (f(hi) - f(lo)) * max(best - y_ref, 0.0)
    return area


def old_nas_pareto(points, score="score", latency="latency_ms"):
    front = [p for p in points if not any(q[score] >= p[score] and q[latency] <= p[latency] and
                                          (q[score] > p[score] or q[latency] < p[latency]) for q in points)]
    return sorted(front, key=lambda p: p[latency])


def old_nas_hypervolume(points, ref_score, ref_latency, score="score", latency="latency_ms"):
    front = [p for p in old_nas_pareto(points, score, latency) if p[score] > ref_score and p[latency] < ref_latency]
    area = 0.0
    xs = sorted(front, key=lambda p: p[latency])
    for i, p in enumerate(xs):
        right = xs[i + 1][latency] if i + 1 < len(xs) else ref_latency
        area += (right - p[latency]) * (p[score] - ref_score)
    return float(area)


def old_joint_pareto(cost, size):
    c2, s2 = {}, {}
    for n in cost:
        keep = [o for o in cost[n] if not any(
            (size[n][p] <= size[n][o] and cost[n][p] <= cost[n][o]) and (size[n][p] < size[n][o] or cost[n][p] < cost[n][o])
            for p in cost[n])]
        c2[n] = {o: cost[n][o] for o in keep}
        s2[n] = {o: size[n][o] for o in keep}
    return c2, s2


# ---- random point sets with many ties --------------------------------------------------------------

def _sets(n_sets=300):
    rng = random.Random(28)
    for k in range(n_sets):
        n = rng.randint(0, 25)
        grid = rng.choice([3, 6, 50])                 # few distinct values: ties in x, in y, in both
        xs = [rng.choice([1.0, 2.0, 0.5, 7.25, 3.0, 12.0][: max(1, grid // 2)]) * rng.randint(1, grid) for _ in range(n)]
        ys = [float(rng.randint(0, grid)) * 10 / grid + (rng.random() if grid == 50 else 0) for _ in range(n)]
        yield k, [{"size_bytes": a, "accuracy_pct": b, "latency_ms": a / 3, "id": i} for i, (a, b) in enumerate(zip(xs, ys))]


def _ids(points):
    return [p["id"] for p in points]


def test_front_is_every_old_front_on_random_sets_with_ties():
    for k, pts in _sets():
        ui = old_ui_pareto_front(pts)
        assert _ids(pareto.front(pts)) == _ids(ui) == _ids(plots.pareto_front(pts)), k
        assert _ids(explorer_pareto.front(pts)) == _ids(old_explorer_front(pts)), k
        assert _ids(pareto.front(pts, unique=True)) == _ids(old_explorer_front(pts)), k
        nas_pts = [{"score": p["accuracy_pct"], "latency_ms": p["size_bytes"], "id": p["id"]} for p in pts]
        assert _ids(search.pareto(nas_pts)) == _ids(old_nas_pareto(nas_pts)), k


def test_hypervolume_is_every_old_hypervolume_on_random_sets_with_ties():
    rng = random.Random(5)
    for k, pts in _sets():
        if not pts:
            continue
        ref = rng.choice([2.0 * max(p["size_bytes"] for p in pts), max(p["size_bytes"] for p in pts), 5.0])
        y_ref = rng.choice([10.0, 0.0, 5.0])
        f = old_explorer_front(pts)
        # the explorer's (log2 cost) is the core's, moved as it was: on a front it is the dominated area
        assert explorer_pareto.hypervolume(f, ref, y_ref=y_ref) == pareto.hypervolume(f, ref, y_ref, log=True)
        assert explorer_pareto.hypervolume(f, ref, y_ref=y_ref) == pytest.approx(area_by_strips(pts, ref, y_ref), abs=1e-9), k
        assert pareto.hypervolume(f, ref, y_ref) == pytest.approx(area_by_strips(pts, ref, y_ref, log=False), abs=1e-9), k
        nas_pts = [{"score": p["accuracy_pct"], "latency_ms": p["size_bytes"], "id": p["id"]} for p in pts]
        new, old = search.hypervolume(nas_pts, y_ref, ref), old_nas_hypervolume(nas_pts, y_ref, ref)
        assert new == old and type(new) is float, k


def test_joint_option_pareto_keeps_the_old_options_in_their_order():
    rng = random.Random(3)
    for k in range(200):
        layers = [f"l{i}" for i in range(rng.randint(1, 4))]
        opts = [(s, b) for s in (0.0, 0.5, 0.9) for b in (2, 4, 8)]
        rng.shuffle(opts)
        cost = {n: {o: float(rng.randint(0, 4)) for o in opts} for n in layers}
        size = {n: {o: rng.randint(1, 5) * 100 for o in opts} for n in layers}
        new, old = budget.pareto(cost, size), old_joint_pareto(cost, size)
        assert new == old and all(list(a) == list(b) for a, b in zip(new[0].values(), old[0].values())), k
        assert [list(v) for v in new[1].values()] == [list(v) for v in old[1].values()], k


def test_front_and_hypervolume_by_hand():
    pts = [{"x": 4, "y": 90}, {"x": 1, "y": 80}, {"x": 2, "y": 80}, {"x": 1, "y": 80}, {"x": 8, "y": 85}]
    assert pareto.front(pts, "x", "y") == [pts[1], pts[3], pts[0]]
    assert pareto.front(pts, "x", "y", unique=True) == [pts[1], pts[0]]
    assert pareto.front(pts, "x", "y", maximize_y=False) == [pts[1], pts[3]]
    f = pareto.front(pts, "x", "y", unique=True)
    assert pareto.hypervolume(f, 16, 10, "x", "y") == pytest.approx(3 * 70 + 12 * 80)
    assert pareto.hypervolume(f, 16, 10, "x", "y", log=True) == pytest.approx(2 * 70 + 2 * 80)
    assert pareto.hypervolume([], 16, 10, "x", "y") == 0.0
