"""Every results record as one table of points, each compared with the baseline of its own run.

``load()`` reads every ``notebooks/results/*.jsonl`` (``labkit.record``'s schema) and returns
``Entry`` dicts: the row's measures, its family, and its ratios against the baseline measured
beside it in the same run (absolute latencies from different runs are not comparable on a
shared machine; ratios measured side by side are): speeds are the runs' own paired speedups with
their intervals, like for like (a deployed row against the deployed baseline, an eager row against
the eager one), never a division of two recorded latencies. Families come from the technique names
(``labkit.record.TECHNIQUES``; an unregistered ``family-kind`` name counts as ``family``), so a
notebook that adds a new family shows up here without a change.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .. import record
from ..paths import NOTEBOOKS, results_dir

# Rows that are not compression points of the lab's models: torchvision's ImageNet models
# (notebook 01; another data set, another accuracy scale).
LEFT_OUT = ("reference",)
# Families that are the comparison itself, not a technique (no front, no hypervolume).
NOT_TECHNIQUES = ("baseline", "deploy")


def family_of(technique: str) -> str:
    """The family of a technique: registered in ``labkit.record``, else the part before the first
    ``-`` (``nas-ofa-subnet`` -> ``nas``), so records of a new family need no change here."""
    try:
        return record.family(technique)
    except ValueError:
        return technique.split("-", 1)[0]


def reference_folder() -> Path:
    """The committed records: ``$LABKIT_REFERENCE`` while the tests run, else ``notebooks/results``."""
    ref = os.environ.get("LABKIT_REFERENCE")
    return Path(ref) if ref else NOTEBOOKS / "results"


def _ratio(a, b):
    return a / b if a and b else None


def _value(sp):
    return float(sp["value"]) if isinstance(sp, dict) and sp.get("value") else None


def noise(sp: dict) -> bool:
    """True when a recorded speedup (``{"value", "lo", "hi", "within_noise", ...}``) is within noise:
    its run said so, or its interval contains 1."""
    return bool(sp.get("within_noise")) or sp["lo"] <= 1.0 <= sp["hi"]


def speedup_text(sp) -> str:
    """A recorded speedup as a table shows it: ``"1.92x [1.80-2.05]"``, ``"≈1 (within noise)"``, or
    "—" when the row has none."""
    if not isinstance(sp, dict):
        return "—"
    return "≈1 (within noise)" if noise(sp) else f"{sp['value']:.2f}x [{sp['lo']:.2f}-{sp['hi']:.2f}]"


def like_for_like(row: dict) -> tuple[dict | None, str]:
    """A row's speedup against the baseline of its own form, timed in its own run: a deployed row
    against the deployed baseline (``deployed_speedup``), an eager row against the eager one
    (``speedup``), a simulated row none (fake quantisation claims no speed); and which baseline."""
    form = row.get("form") or "eager"
    if form == "simulated":
        return None, "simulated: no speed"
    if form == "deployed":
        return row.get("deployed_speedup"), "vs its run's deployed baseline"
    return row.get("speedup"), "vs its run's eager baseline"


def entry(row: dict, source: str = "reference") -> dict:
    """One record row as an explorer point: the row's fields, ``family``, ``source`` and its gains
    against its own run's baseline: ``x_smaller``, ``x_fewer_macs``, ``x_fewer_params`` (where the
    row counted its parameters), ``drop_pt``, and the speeds *as the run measured them* (never a
    division of latencies from two runs): ``speedup`` (the row's ``speedup``: against the eager
    baseline timed beside it), ``vs_deployed`` (``deployed_speedup``: deployed vs deployed), and
    like for like (``like_for_like``) ``gain`` (the speedup dict), ``speed`` (its text, with the
    interval or "≈1 (within noise)"), ``against`` (which baseline) and ``rel_latency`` (its latency
    over that baseline's: 1 / the speedup, exactly 1 where within noise; ``None`` for a simulated
    row or one not timed beside its baseline: such a point is on no latency front)."""
    e = dict(row)
    e["family"] = family_of(row["technique"])
    e["source"] = source
    e["form"] = row.get("form") or "eager"
    e["x_smaller"] = _ratio(row["baseline_size_bytes"], row["size_bytes"])
    e["x_fewer_macs"] = _ratio(row["baseline_macs"], row["macs"])
    e["x_fewer_params"] = _ratio(row["baseline_params"], row["params"])
    e["speedup"] = _value(row.get("speedup")) if e["form"] != "simulated" else None
    e["vs_deployed"] = _value(row.get("deployed_speedup")) if e["form"] == "deployed" else None
    gain, e["against"] = like_for_like(row)
    e["gain"] = gain if isinstance(gain, dict) and gain.get("value") else None
    e["speed"] = speedup_text(e["gain"]) if e["form"] != "simulated" else "— (simulated)"
    e["rel_latency"] = None if e["gain"] is None else 1.0 if noise(e["gain"]) else 1.0 / e["gain"]["value"]
    e["drop_pt"] = row["accuracy_pct"] - row["baseline_accuracy_pct"]
    e["key"] = key(row)
    e["label"] = name(e)
    return e


def key(row: dict) -> str:
    """What identifies a point across batch sizes: notebook, technique, config and form (a model's
    deployed form is a point of its own)."""
    form = row.get("form") or "eager"
    return f"{row['notebook']}|{row['technique']}|{json.dumps(row['config'], sort_keys=True)}|{form}"


def name(e: dict, limit: int = 60) -> str:
    """``02 prune-fine sparsity=0.9, epochs=1``: the notebook's number, technique and scalar config."""
    cfg = ", ".join(f"{k}={v}" for k, v in e["config"].items() if not isinstance(v, (dict, list)))
    tagged = e.get("form") in ("deployed", "simulated") and "form" not in e["config"] and e["technique"] != "runtime-fp32"
    text = f"{e['notebook'][:2]} {e['technique']}" + (f" ({e['form']})" if tagged else "") + (f" {cfg}" if cfg else "")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def load(folder=None, own: bool = False, exclude=()) -> list[dict]:
    """Every record row of ``folder`` (default: the committed records) as explorer points, less the
    families in ``LEFT_OUT`` and the notebooks in ``exclude`` (e.g. the explorer's own record).
    ``own=True`` adds this run's records (``$LABKIT_RESULTS``, when it is another folder) with
    ``source="yours"``, beside the reference ones."""
    folder = Path(folder) if folder else reference_folder()
    if not folder.is_dir() or not any(folder.glob("*.jsonl")):
        raise FileNotFoundError(f"no results records in {folder}: execute a notebook first (make notebooks)")
    def rows(where):        # an excluded notebook's file is not even read (e.g. the explorer's own, while it is rewritten)
        return [r for f in sorted(where.glob("*.jsonl")) if f.stem not in exclude for r in record.read(f.stem, where)]
    out = [entry(r) for r in rows(folder)]
    mine = results_dir()
    if own and mine.resolve() != folder.resolve() and mine.is_dir():
        out += [entry(r, "yours") for r in rows(mine)]
    return [e for e in out if e["family"] not in LEFT_OUT and e["notebook"] not in exclude]


def families(entries) -> list[str]:
    """The technique families present, in ``labkit.record.FAMILIES`` order, new ones after."""
    present = {e["family"] for e in entries if e["family"] not in NOT_TECHNIQUES}
    known = [f for f in record.FAMILIES if f in present]
    return known + sorted(present - set(known))


def at_batch(entries, batch_size: int = 1) -> list[dict]:
    """The points measured at ``batch_size``."""
    return [e for e in entries if e["batch_size"] == batch_size]


def summary(entries) -> list[dict]:
    """Rows per notebook and family: how many points, at which batch sizes."""
    groups: dict = {}
    for e in entries:
        g = groups.setdefault((e["notebook"], e["family"]), {"notebook": e["notebook"], "family": e["family"],
                                                             "points": 0, "batches": set()})
        g["points"] += 1
        g["batches"].add(e["batch_size"])
    return [{**g, "batches": ", ".join(map(str, sorted(g["batches"])))} for g in groups.values()]
