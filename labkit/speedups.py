"""Speedups as rows keep them: the protocol's paired ratio (``labkit.timing.Timing.speedup``) spread
into flat row fields, and read back for a table cell or a verdict where only the rows are at hand
(a ledger, a layer scan, a cache).

``fields(timing, model, ref)`` -> ``{"speedup", "speedup_lo", "speedup_hi", "within_noise",
"noise_floor", "floor_line"}`` (``key="speedup_vs_deployed"``: ``speedup_vs_deployed``,
``speedup_vs_deployed_lo``, ``speedup_vs_deployed_hi``, ``within_noise_vs_deployed``); ``cell(row)``
prints them as ``Timing.cell`` does; ``as_dict(row)`` gives them back as the protocol's speedup dict
(for ``labkit.verdict``); ``verdict(row)`` -> "faster" / "slower" / "within noise";
``medians_cell(ref_ms, ms)`` is the fallback for rows that were not timed together (a cache
without intervals): the ratio of medians, marked "(medians)".
"""
from __future__ import annotations

from .timing import CELL_WIDTH, Timing

KEY = "speedup"


def _names(key: str) -> tuple[str, str, str, str]:
    suffix = key[len(KEY):] if key.startswith(KEY) else "_" + key
    return key, f"{key}_lo", f"{key}_hi", f"within_noise{suffix}"


def fields(timing: Timing, model: str, reference: str | None = None, key: str = KEY) -> dict:
    """The speedup of ``model`` over ``reference`` in ``timing`` as flat row fields (see the module's
    docstring); ``noise_floor`` and ``floor_line`` are the run's (only with the default ``key``)."""
    sp = timing.speedup(model, reference)
    value, lo, hi, within = _names(key)
    out = {value: sp["value"], lo: sp["lo"], hi: sp["hi"], within: sp["within_noise"]}
    if key == KEY:
        out.update(noise_floor=sp["noise_floor"], floor_line=timing.floor_line())
    return out


def has_interval(row: dict, key: str = KEY) -> bool:
    return all(k in row for k in _names(key))


def text(row: dict, key: str = KEY) -> str:
    """``"1.92x [1.80-2.05]"`` or ``"≈1 (within noise)"`` from a row's fields (``Timing.speedup_text``)."""
    sp = as_dict(row, key)
    return "≈1 (within noise)" if sp["within_noise"] else f"{sp['value']:.2f}x [{sp['lo']:.2f}-{sp['hi']:.2f}]"


def cell(row: dict, key: str = KEY) -> str:
    """``text`` right-aligned to the protocol's cell width (``Timing.cell``)."""
    return text(row, key).rjust(CELL_WIDTH)


def medians_cell(reference_ms: float, ms: float) -> str:
    """The ratio of two medians not timed together (no interval), marked as such: ``"1.23x (medians)"``."""
    return f"{reference_ms / ms:.2f}x (medians)".rjust(CELL_WIDTH)


def as_dict(row: dict, key: str = KEY) -> dict:
    """A row's fields back as the protocol's speedup dict ``{"value", "lo", "hi", "within_noise"}``
    (what ``labkit.verdict.speed`` and ``verdict.goal`` take)."""
    value, lo, hi, within = _names(key)
    if not has_interval(row, key):
        raise ValueError(f"the row has no interval for {key!r}: time it with labkit.timing (fields) first")
    return {"value": row[value], "lo": row[lo], "hi": row[hi], "within_noise": bool(row[within])}


def verdict(row: dict, key: str = KEY) -> str:
    """``"faster"`` (the interval lies above 1 and outside the A/A band), ``"slower"`` (below) or
    ``"within noise"``, from a row's fields (the word of ``labkit.verdict.speed``)."""
    from .verdict import speed
    return speed(as_dict(row, key)).split(" (", 1)[0]


def yerr(rows: list[dict], key: str = KEY) -> list[list[float]]:
    """The rows' 95 % intervals as matplotlib's asymmetric ``yerr`` around ``row[key]`` (clipped at 0:
    a bootstrap interval of a median need not contain the sample median by a rounding)."""
    value, lo, hi, _ = _names(key)
    return [[max(0.0, r[value] - r[lo]) for r in rows], [max(0.0, r[hi] - r[value]) for r in rows]]


def floor_lines(rows: list[dict], label) -> list[str]:
    """One labelled noise-floor line per timing run behind ``rows`` (``label(row)`` names the run;
    rows of one run share its ``floor_line``), in the rows' order."""
    seen: dict[str, str] = {}
    for r in rows:
        if r.get("floor_line"):
            seen.setdefault(str(label(r)), r["floor_line"])
    return [f"{k}: {v}" for k, v in seen.items()]
