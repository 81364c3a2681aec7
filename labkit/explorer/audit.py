"""The efficiency-misnomer audit (Dehghani et al., ICLR 2022, "The Efficiency Misnomer"): do
parameters, MACs, bytes and measured latency rank models the same way?

``kendall_tau(a, b)`` is Kendall's tau-b (``labkit.nas.rank``: ties counted as neither concordant
nor discordant, normalised as in ``scipy.stats.kendalltau``); ``disagreements(points, m1, m2)`` lists the pairs
the two measures order oppositely. ``audit(points, measures)`` does every pair of measures.
"""
from __future__ import annotations

import math
from itertools import combinations

from ..nas.rank import kendall_tau  # noqa: F401  (one implementation for the lab: notebook 07 tests proxies with it)


def disagreements(points, m1: str, m2: str, name: str = "label") -> list[tuple]:
    """Pairs ``(p, q)`` that ``m1`` and ``m2`` order oppositely (p lower on one, higher on the
    other), the strongest first (product of the log-ratios on the two measures)."""
    out = []
    for p, q in combinations(points, 2):
        if min(p[m1], q[m1], p[m2], q[m2]) <= 0:
            continue
        r1, r2 = math.log(p[m1] / q[m1]), math.log(p[m2] / q[m2])
        if r1 * r2 < 0:
            out.append((p, q, -r1 * r2))
    out.sort(key=lambda t: -t[2])
    return [(p, q) for p, q, _ in out]


def audit(points, measures) -> dict:
    """``{(m1, m2): {"tau", "n", "pairs", "disagree"}}`` for every pair of ``measures`` over the
    points that have both (a measure missing or None in a point leaves that point out of its pairs)."""
    out = {}
    for m1, m2 in combinations(measures, 2):
        pts = [p for p in points if p.get(m1) is not None and p.get(m2) is not None]
        dis = disagreements(pts, m1, m2)
        out[(m1, m2)] = {"tau": kendall_tau([p[m1] for p in pts], [p[m2] for p in pts]) if len(pts) > 1 else float("nan"),
                         "n": len(pts), "pairs": len(pts) * (len(pts) - 1) // 2, "disagree": dis}
    return out


def record_points(entries) -> list[dict]:
    """The records as one point per model (notebook, technique, config), with the gains against its
    own run's baseline: ``x_smaller``, ``x_fewer_macs``, ``x_fewer_params`` (where the row counted
    its parameters), ``speedup_b1`` and ``speedup_b256`` (the latter two where that batch size was
    timed beside its baseline: like for like, exactly 1 within noise, ``1 / rel_latency``; a
    deployed-form row is a point of its own, a simulated one has no speed)."""
    by_key: dict = {}
    for e in entries:
        if e["family"] in ("baseline",):
            continue
        p = by_key.setdefault(e["key"], {"label": e["label"], "family": e["family"], "notebook": e["notebook"],
                                         "x_smaller": e["x_smaller"], "x_fewer_macs": e["x_fewer_macs"],
                                         "x_fewer_params": e.get("x_fewer_params")})
        if e["batch_size"] in (1, 256) and e.get("rel_latency"):
            p[f"speedup_b{e['batch_size']}"] = 1.0 / e["rel_latency"]
    return list(by_key.values())


def table(result: dict, digits: int = 2, measured=()) -> str:
    """The audit as text: one line per pair of measures, tau, points, pairs ordered oppositely.
    A pair involving a measure in ``measured`` (timed in this run) prints its tau and count as
    ``Approx`` (``≈``: they change from run to run and CPU to CPU)."""
    from .. import verify
    from ..ui.plots import text_table
    rows = []
    for (m1, m2), r in result.items():
        live = m1 in measured or m2 in measured
        tau, dis = f"{r['tau']:+.{digits}f}", str(len(r["disagree"]))
        rows.append({"measures": f"{m1} vs {m2}", "tau": f"{verify.MARK}{tau}" if live else tau, "points": r["n"],
                     "disagreeing pairs": f"{verify.MARK if live else ''}{dis} of {r['pairs']}"})
    return text_table(rows, {"measures": "s", "tau": "s", "points": "d", "disagreeing pairs": "s"})


def worst_pairs(result: dict, per_pair: int = 2, values: bool = True) -> str:
    """The strongest disagreements of each pair of measures as text: ``a`` vs ``b``, which measure
    prefers which (the lower value of a cost, the higher of a gain), with both values."""
    lines = []
    for (m1, m2), r in result.items():
        for p, q in r["disagree"][:per_pair]:
            v = (f" ({m1} {p[m1]:.3g} vs {q[m1]:.3g}; {m2} {p[m2]:.3g} vs {q[m2]:.3g})" if values else "")
            lines.append(f"{m1} vs {m2}: {p['label']}  |  {q['label']}{v}")
    return "\n".join(lines)
