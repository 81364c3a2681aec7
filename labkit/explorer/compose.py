"""Do techniques compose? A joint result (notebook 08) against what its parts gave alone.

If pruning alone makes a model 5x smaller and quantization alone 4x, "multiplicative" predicts
20x for both together; if they cost 0.3 and 0.5 pt alone, "additive" predicts 0.8 pt. For every
joint point, ``compose`` finds, for each setting in its config, the point of another family with
the same setting on the same baseline (bytes and accuracy of the same model) and compares.
Generic: nothing here names a notebook or a technique beyond the family ``joint``.
"""
from __future__ import annotations

import math

JOINT = "joint"

# The settings that say how much a technique compresses, and what each is called in the single
# techniques' configs. Only these are matched: "model", "seed", "epochs" or "source" are shared by
# unrelated points and say nothing about which technique a joint point combined.
KNOBS = {"sparsity": ("sparsity",), "bits": ("bits",), "channel_ratio": ("ratio", "channel_ratio"),
         "ratio": ("ratio",), "rank": ("rank",), "keep": ("keep",)}


def _same_baseline(a: dict, b: dict) -> bool:
    return a["baseline_size_bytes"] == b["baseline_size_bytes"] and a["baseline_macs"] == b["baseline_macs"]


def parts(joint: dict, entries) -> dict:
    """``{config key: point}``: for each compression setting of ``joint``'s config (``KNOBS``: sparsity,
    bits, channel ratio, rank, energy kept), the single-family point (not joint, not the baseline) on
    the same baseline whose config has that setting at the same value and that is otherwise closest
    (fewest other keys); among equals the most accurate."""
    out = {}
    for k, v in joint["config"].items():
        if k not in KNOBS or isinstance(v, (dict, list)):
            continue
        cands = [e for e in entries if e["family"] not in (JOINT, "baseline", "deploy") and e["batch_size"] == joint["batch_size"]
                 and "joint" not in e["technique"]          # a part is one technique, not another combination
                 and any(e["config"].get(name) == v for name in KNOBS[k]) and _same_baseline(e, joint)]
        if cands:
            out[k] = min(cands, key=lambda e: (len(e["config"]), -e["accuracy_pct"], e["label"]))
    return out


def compose(entries) -> list[dict]:
    """One row per joint point whose every compression setting has a single-technique part, from at
    least two families: its measured x smaller and pt drop, the predicted ones (product of the parts'
    x smaller, sum of their drops) and the verdict per measure. A joint point with a setting no
    single technique was measured at is left out: a prediction without that part would mislead."""
    rows = []
    for j in (e for e in entries if e["family"] == JOINT):
        found = parts(j, entries)
        fams = {p["family"] for p in found.values()}
        if len(fams) < 2 or set(found) != {k for k in j["config"] if k in KNOBS}:
            continue
        uniq = {p["key"]: p for p in found.values()}.values()      # a part found by two keys counts once
        pred_x = math.prod(p["x_smaller"] for p in uniq)
        pred_drop = sum(p["drop_pt"] for p in uniq)
        rows.append({"joint": j["label"], "parts": " + ".join(sorted(p["label"] for p in uniq)),
                     "x smaller": j["x_smaller"], "predicted x": pred_x, "bytes": verdict(j["x_smaller"], pred_x, 0.1, ratio=True),
                     "pt": j["drop_pt"], "predicted pt": pred_drop, "accuracy": verdict(j["drop_pt"], pred_drop, 0.5)})
    return rows


def verdict(measured: float, predicted: float, tol: float, ratio: bool = False) -> str:
    """``as predicted`` within ``tol`` (relative for ratios, points otherwise), else ``better`` or ``worse``."""
    off = (measured / predicted - 1) if ratio else (measured - predicted)
    return "as predicted" if abs(off) <= tol else ("better" if off > 0 else "worse")


def report(entries) -> str:
    """The composition table as text, or one line saying why there is none yet."""
    joint = [e for e in entries if e["family"] == JOINT]
    if not joint:
        return ("no joint-compression records yet (notebook 08 writes them, technique family 'joint'): "
                "nothing to compose; re-run this cell once notebooks/results/08_*.jsonl exists")
    rows = compose(entries)
    if not rows:
        return (f"{len(joint)} joint points, none whose settings match single-technique points on the same "
                f"baseline (e.g. a joint config with sparsity=0.9 and bits=4 needs a prune point with sparsity=0.9 "
                f"and a quant point with bits=4)")
    from ..ui.plots import text_table
    return text_table(rows, {"joint": "s", "parts": "s", "x smaller": ".2f", "predicted x": ".2f", "bytes": "s",
                             "pt": "+.2f", "predicted pt": "+.2f", "accuracy": "s"})
