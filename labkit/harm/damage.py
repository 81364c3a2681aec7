"""The population's damage beyond top-1, summarised over seeds: computed live from the cached
predictions (``population.view``) by the pure functions of ``calibration``.

Against what: per-class changes and top-1 are against the shipped ``cnn`` (what one would
deploy uncompressed); the ``dense`` members (the CNN fine-tuned exactly as the compressed ones,
over the same seeds) give the yardstick of seed noise: what fine-tuning alone moves.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .calibration import class_accuracy, ece as lab_ece, exemplars, reliability


def labels() -> torch.Tensor:
    from ..data import arrays
    return arrays("test")[1]


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    v = [float(x) for x in values]
    m = sum(v) / len(v)
    s = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, s


def member_summary(rows: list[dict], baseline: dict, y: torch.Tensor, ece: Callable = lab_ece) -> dict:
    """One member over its seeds: ``accuracy`` (mean, std), ``class_change`` (mean per class, pt),
    ``class_change_std``, ``worst_class`` and ``worst_class_drop_pt`` (mean, std over seeds of each
    seed's own worst drop), ``ece`` (mean, std; a fraction), ``corruption_acc`` ({kind: [mean by
    severity]}), ``corruption_std``, ``corruption_mean`` (mean, std over seeds of the average over
    kinds and severities), ``seeds``."""
    base_cls = class_accuracy(baseline["pred"], y)
    changes = torch.stack([class_accuracy(r["pred"], y) - base_cls for r in rows])          # (seeds, classes)
    mean_change = changes.mean(0)
    worst = int(mean_change.argmin())
    eces = [ece(r["conf"], r["pred"] == y, 15) for r in rows]
    kinds = list(rows[0]["corruption_acc"])
    corr = {k: torch.tensor([r["corruption_acc"][k] for r in rows], dtype=torch.float64) for k in kinds}  # (seeds, sev)
    overall = [sum(sum(r["corruption_acc"][k]) for k in kinds) / sum(len(r["corruption_acc"][k]) for k in kinds)
               for r in rows]
    return {"seeds": [r["config"]["seed"] for r in rows],
            "accuracy": _mean_std([r["accuracy_pct"] for r in rows]),
            "class_change": mean_change.tolist(),
            "class_change_std": (changes.std(0) if len(rows) > 1 else torch.zeros(changes.shape[1])).tolist(),
            "worst_class": worst,
            "worst_class_drop_pt": _mean_std([-float(c.min()) for c in changes]),
            "ece": _mean_std(eces),
            "corruption_acc": {k: v.mean(0).tolist() for k, v in corr.items()},
            "corruption_std": {k: (v.std(0) if len(rows) > 1 else torch.zeros(v.shape[1])).tolist() for k, v in corr.items()},
            "corruption_mean": _mean_std(overall),
            "reliability": reliability(torch.cat([r["conf"] for r in rows]), torch.cat([r["pred"] == y for r in rows]))}


def summarize(pop: dict, ece: Callable = lab_ece) -> dict:
    """``{member: member_summary}`` for every member of the cached population (``cnn`` included)."""
    y = labels()
    base = pop["members"]["cnn"][0]
    return {m: member_summary(rows, base, y, ece) for m, rows in pop["members"].items()}


def compression_exemplars(pop: dict, member: str) -> torch.Tensor:
    """Hooker et al.'s exemplars of ``member``: test images where its population's modal prediction
    differs from the ``dense`` population's."""
    return exemplars(torch.stack([r["pred"] for r in pop["members"][member]]),
                     torch.stack([r["pred"] for r in pop["members"]["dense"]]))


def churn(pop: dict, member: str = "dense") -> float:
    """Mean fraction (%) of test images whose prediction differs between two seeds of ``member``:
    how much fine-tuning alone moves individual predictions."""
    preds = [r["pred"] for r in pop["members"][member]]
    pairs = [(a, b) for i, a in enumerate(preds) for b in preds[i + 1:]]
    return 100.0 * sum(float((a != b).double().mean()) for a, b in pairs) / max(len(pairs), 1)


def versus(a: Sequence[float], b: Sequence[float]) -> dict:
    """``a`` against ``b`` over seeds: the difference of means, its standard error, and whether it
    is beyond seed noise: ``|diff| > 2 standard errors`` and the seed ranges do not overlap."""
    ma, sa = _mean_std(a)
    mb, sb = _mean_std(b)
    se = math.sqrt(sa ** 2 / len(a) + sb ** 2 / len(b))
    apart = min(a) > max(b) or max(a) < min(b)
    beyond = apart and abs(ma - mb) > 2 * se and len(a) > 1 and len(b) > 1
    return {"diff": ma - mb, "se": se, "beyond_noise": beyond}


def findings(summary: dict, generator: dict | None = None) -> dict:
    """The findings file's content: per member ``{"ece", "worst_class_drop_pt", "corruption_acc"}``
    (means over seeds; ECE a fraction, drops in points, accuracy in %; their spread in ``std_over_seeds``), and the generator's
    ``{"sparsity", "fd"}`` (one-shot pruning)."""
    out = {"models": {m: {"ece": round(s["ece"][0], 5), "worst_class_drop_pt": round(s["worst_class_drop_pt"][0], 3),
                          "corruption_acc": {k: [round(v, 2) for v in vals] for k, vals in s["corruption_acc"].items()},
                          "accuracy_pct": round(s["accuracy"][0], 3), "seeds": s["seeds"],
                          "std_over_seeds": {"ece": round(s["ece"][1], 5), "worst_class_drop_pt": round(s["worst_class_drop_pt"][1], 3),
                                             "accuracy_pct": round(s["accuracy"][1], 3),
                                             "corruption_acc": {k: [round(v, 2) for v in vals]
                                                                for k, vals in s["corruption_std"].items()}}}
                      for m, s in summary.items()}}
    if generator is not None:
        out["generator"] = {"sparsity": [r["config"]["sparsity"] for r in generator["prune"]],
                            "fd": [r["fd"] for r in generator["prune"]],
                            "recon_bce": [r["recon_bce"] for r in generator["prune"]]}
    return out
