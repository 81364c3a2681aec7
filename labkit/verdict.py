"""Verdicts from numbers: the words a notebook's text uses, printed by code from what this run measured.

A sentence that says "faster", "smaller", "met" or "missed" points at one of these lines, so the text
can never contradict the numbers beside it:

- ``speed(timing, model, reference)``: "faster (1.92x, 95 % CI 1.80-2.05)", "slower (…)" or
  "within noise (…)" from a ``labkit.timing.Timing`` (or a results row's ``speedup``); never
  faster or slower inside the run's A/A noise floor.
- ``goal(name, measured, target, op)``: one row of a goals table, "met" or "NOT met"; for a timed
  goal (a speedup with an interval) "met" only when the whole interval clears the target, "NOT
  met" when none of it does, and "undecided (within noise)" otherwise.
- ``goals_table(rows)``: the table every Summary starts with (goal, target, measured, verdict).
"""
from __future__ import annotations

import math
from typing import Mapping

from . import verify

OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}
VERDICT_WIDTH = 24      # every verdict cell padded to one width: the table's layout does not move with the words


def _interval(sp) -> tuple[float, float, float, bool]:
    if isinstance(sp, Mapping):
        return float(sp["value"]), float(sp["lo"]), float(sp["hi"]), bool(sp.get("within_noise"))
    return float(sp.value), float(sp.lo), float(sp.hi), False


def speed(timing_or_speedup, model: str | None = None, reference: str | None = None) -> str:
    """The speed verdict of ``model`` against ``reference`` in one timing run (``labkit.timing.Timing``),
    or of a results row's ``speedup`` dict: "faster (…)", "slower (…)" or "within noise (…)"."""
    if not hasattr(timing_or_speedup, "ratio"):          # a row's speedup dict (a Timing is a Mapping too)
        v, lo, hi, noise = _interval(timing_or_speedup)
    else:
        t = timing_or_speedup
        if model is None:
            raise ValueError("name the model: speed(timing, 'model name'[, 'reference name'])")
        r = t.ratio(model, reference)
        v, lo, hi, noise = r.value, r.lo, r.hi, t.within_noise(model, reference)
    noise = noise or lo <= 1.0 <= hi
    word = "within noise" if noise else "faster" if v > 1 else "slower"
    return f"{word} ({v:.2f}x, 95 % CI {lo:.2f}-{hi:.2f})"


def goal(name: str, measured, target: float, op: str = ">=", unit: str = "", digits: int = 2) -> dict:
    """One goal: ``measured`` (a number, or a speedup with an interval: a ``labkit.timing.Ratio`` or a
    row's ``speedup`` dict) against ``target`` with ``op`` (``">="``, ``"<="``, ``">"``, ``"<"``)."""
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(OPS)}, got {op!r}")
    if not isinstance(target, (int, float)) or isinstance(target, bool) or not math.isfinite(target):
        raise ValueError(f"target must be a finite number, got {target!r}")
    timed = isinstance(measured, Mapping) or hasattr(measured, "lo")
    if timed:
        v, lo, hi, _ = _interval(measured)
        test = OPS[op]
        if test(lo, target) and test(hi, target):
            verdict = "met (timed)"
        elif not test(lo, target) and not test(hi, target):
            verdict = "NOT met (timed)"
        else:
            verdict = "undecided (within noise)"
        shown = f"{v:.{digits}f}x [{lo:.{digits}f}-{hi:.{digits}f}]".rjust(21)
    else:
        if not isinstance(measured, (int, float)) or isinstance(measured, bool) or not math.isfinite(measured):
            raise ValueError(f"{name}: measured must be a finite number, got {measured!r}")
        verdict = "met" if OPS[op](measured, target) else "NOT met"
        if verify.is_approx(measured):         # a trained number: its verdict is checked by value, like it
            verdict = "≈" + verdict
        shown = f"{measured:,.{digits}f}{unit}"
    return {"goal": name, "target": f"{op} {target:,.{digits}f}{'x' if timed else unit}", "measured": shown,
            "verdict": verdict.rjust(VERDICT_WIDTH)}


def goals_table(rows: list[dict]) -> str:
    """The goals as a text table (goal, target, measured, verdict) and, when no verdict depends on
    this run's timing or this CPU's rounding, how many were met."""
    from .text import text_table
    if not rows:
        raise ValueError("goals_table needs at least one goal: pass [verdict.goal(...), ...]")
    table = text_table(rows, {"goal": "s", "target": "s", "measured": "s", "verdict": "s"})
    words = [r["verdict"].strip() for r in rows]
    if any(w.startswith("≈") or w.endswith(")") for w in words):
        return table
    return table + f"\n{sum(w == 'met' for w in words)} of {len(rows)} goals met"
