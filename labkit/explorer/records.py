"""Every results record as one table of points, each compared with the baseline of its own run.

``load()`` reads every ``notebooks/results/*.jsonl`` (``labkit.record``'s schema) and returns
``Entry`` dicts: the row's measures, its family, and its ratios against the baseline measured
beside it in the same run (absolute latencies from different runs are not comparable on a
shared machine; ratios measured side by side are). Families come from the technique names
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


def entry(row: dict, source: str = "reference") -> dict:
    """One record row as an explorer point: the row's fields, ``family``, ``source`` and the ratios
    against its own run's baseline: ``x_smaller``, ``x_fewer_macs``, ``x_fewer_params`` (where the
    row counted its parameters), ``speedup`` (eager baseline),
    ``vs_deployed`` (deployed fp32 baseline, when the row has one), ``drop_pt``, ``rel_latency``."""
    e = dict(row)
    e["family"] = family_of(row["technique"])
    e["source"] = source
    e["x_smaller"] = _ratio(row["baseline_size_bytes"], row["size_bytes"])
    e["x_fewer_macs"] = _ratio(row["baseline_macs"], row["macs"])
    e["x_fewer_params"] = _ratio(row["baseline_params"], row["params"])
    e["speedup"] = _ratio(row["baseline_latency_ms"], row["latency_ms"])
    e["vs_deployed"] = _ratio(row["deployed_latency_ms"], row["latency_ms"])
    e["rel_latency"] = _ratio(row["latency_ms"], row["baseline_latency_ms"])
    e["drop_pt"] = row["accuracy_pct"] - row["baseline_accuracy_pct"]
    e["key"] = key(row)
    e["label"] = name(e)
    return e


def key(row: dict) -> str:
    """What identifies a point across batch sizes: notebook, technique and config."""
    return f"{row['notebook']}|{row['technique']}|{json.dumps(row['config'], sort_keys=True)}"


def name(e: dict, limit: int = 60) -> str:
    """``02 prune-fine sparsity=0.9, epochs=1``: the notebook's number, technique and scalar config."""
    cfg = ", ".join(f"{k}={v}" for k, v in e["config"].items() if not isinstance(v, (dict, list)))
    text = f"{e['notebook'][:2]} {e['technique']}" + (f" {cfg}" if cfg else "")
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
