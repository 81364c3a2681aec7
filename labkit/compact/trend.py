"""The trend of compact networks, from torchvision's own model metadata (offline): families,
years, MACs and ImageNet accuracy of every classifier; activation memory; measured latency of
reference models with random weights (``latency_recipe``, cached by ``python -m labkit sweep
trend-latency``; ``load_latency`` reads it).
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
import warnings
from pathlib import Path
import torch
from torch import nn
from .. import metrics, speedups, timing, validate
from ..layers import WEIGHTED
from ..paths import ROOT
from ..text import text_table


FAMILIES_CSV = ROOT / "datasets" / "imagenet_families.csv"


FAMILY_COLUMNS = ("family", "models", "year", "paper", "source")


IMAGENET_INPUT = (1, 3, 224, 224)


WEIGHTS = "IMAGENET1K_V1"     # the first weights torchvision published, trained on ImageNet-1K alone
NEW_RECIPE = "IMAGENET1K_V2"  # the same architectures re-trained with torchvision's 2021 recipe


# The models the latency section measures (a spread of years, sizes and block types) ...
REFERENCE_MODELS = ("alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "resnet152",
                    "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
                    "shufflenet_v2_x1_0", "mnasnet1_0", "efficientnet_b0")


# ... and the few that the notebook's default run measures live (each < 0.1 s a forward pass).
LIVE_MODELS = ("alexnet", "resnet18", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2_x1_0",
               "efficientnet_b0")


LATENCY_BATCHES = (1, 8)
IMAGENET_BUDGET_S = 60.0   # seconds per table: a round of 224 x 224 models is long, and the A/A floor needs rounds


# ---------------------------------------------------------------- the data
def families(path: str | Path = FAMILIES_CSV) -> list[dict]:
    """Rows of the families CSV: family, models (a regex over torchvision names), year, paper, source."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: restore it with `git checkout -- datasets/{path.name}`")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or tuple(rows[0]) != FAMILY_COLUMNS:
        raise ValueError(f"{path.name} must have the columns {', '.join(FAMILY_COLUMNS)}")
    for r in rows:
        r["year"] = int(r["year"])
    return rows


def family_of(name: str, fams: list[dict]) -> dict:
    """The one family whose ``models`` regex matches the torchvision name ``name``."""
    hits = [f for f in fams if re.fullmatch(f["models"], name)]
    if len(hits) != 1:
        found = "no family" if not hits else f"{len(hits)} families ({', '.join(h['family'] for h in hits)})"
        raise ValueError(f"torchvision model {name!r} matches {found} of {FAMILIES_CSV.name}: add or fix a row")
    return hits[0]


def classification_models() -> list[str]:
    """Names of torchvision's ImageNet classification builders."""
    from torchvision import models as tvm
    return tvm.list_models(module=tvm)


def weights_meta(name: str, weights: str = WEIGHTS) -> dict | None:
    """``<Model>_Weights.<weights>.meta`` (offline), or None if the model has no such weights."""
    from torchvision import models as tvm
    enum = tvm.get_model_weights(name)
    return enum[weights].meta if weights in enum.__members__ else None


def imagenet_models(fams: list[dict] | None = None, weights: str = WEIGHTS) -> tuple[list[dict], list[str]]:
    """One row per torchvision classification model with ImageNet-1K ``weights``, and the names
    left out (those without them: for ``IMAGENET1K_V1``, the models whose only weights were
    pre-trained on other data, e.g. SWAG's 3.6 B Instagram images). MACs are at the resolution
    the weights are evaluated at (``resolution``); ``recipe`` is the link torchvision gives for
    how the weights were trained.
    """
    from torchvision import models as tvm
    fams = fams if fams is not None else families()
    rows, skipped = [], []
    for name in classification_models():
        meta = weights_meta(name, weights)
        if meta is None:
            skipped.append(name)
            continue
        fam = family_of(name, fams)
        acc = meta["_metrics"]["ImageNet-1K"]
        crop = tvm.get_model_weights(name)[weights].transforms.keywords.get("crop_size", 224)
        rows.append({"model": name, "family": fam["family"], "year": fam["year"], "paper": fam["paper"],
                     "params": int(meta["num_params"]), "macs": int(round(meta["_ops"] * 1e9)),
                     "accuracy_pct": float(acc["acc@1"]), "top5_pct": float(acc["acc@5"]),
                     "file_mib": float(meta["_file_size"]), "resolution": int(crop),
                     "recipe": str(meta.get("recipe", ""))})
    rows.sort(key=lambda r: (r["year"], r["family"], r["macs"]))
    return rows, skipped


def recipe_gains(fams: list[dict] | None = None) -> list[dict]:
    """The models torchvision re-trained with its 2021 recipe (``NEW_RECIPE`` weights): one row
    each with the first weights' top-1 (``v1_pct``), the new recipe's (``v2_pct``) and the
    gain in points; the architecture, its MACs and parameters are the same."""
    old = {r["model"]: r for r in imagenet_models(fams)[0]}
    out = []
    for r in imagenet_models(fams, NEW_RECIPE)[0]:
        v1 = old[r["model"]]["accuracy_pct"]
        out.append({**r, "v1_pct": v1, "v2_pct": r["accuracy_pct"], "gain_pt": r["accuracy_pct"] - v1})
    return out


def cheaper_later(rows: list[dict], old_year: int = 2015, year: int = 2019) -> list[dict]:
    """For each model of ``old_year``: the cheapest (fewest MACs) model of ``year`` that is at
    least as accurate, and the compute ratio (the seeds' "10x less compute from 2015 to 2019")."""
    out = []
    for old in (r for r in rows if r["year"] == old_year):
        better = [r for r in rows if r["year"] == year and r["accuracy_pct"] >= old["accuracy_pct"]]
        if better:
            new = min(better, key=lambda r: r["macs"])
            out.append({"old": old, "new": new, "ratio": old["macs"] / new["macs"]})
    return sorted(out, key=lambda d: -d["ratio"])


# ---------------------------------------------------------------- the models themselves
def build(name: str, device: str | torch.device = "cpu") -> nn.Module:
    """torchvision model ``name`` with random weights, in eval mode; never downloads.

    ``device="meta"`` builds shapes only (instant, no memory): enough for parameters, MACs
    and activation counts, not for running it.
    """
    from torchvision import models as tvm
    validate.choice(name, classification_models(), "torchvision model")
    kwargs = {"init_weights": True, "aux_logits": False} if name in ("googlenet", "inception_v3") else {}
    with torch.device(device), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return tvm.get_model(name, weights=None, **kwargs).eval()


def depthwise_macs_share(model: nn.Module, input_size=IMAGENET_INPUT) -> float:
    """Fraction of the MACs spent in depthwise convolutions (``groups == in_channels > 1``)."""
    convs = {n: m for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    per_layer = metrics.macs_by_layer(model, input_size)
    dw = sum(v for n, v in per_layer.items() if n in convs and convs[n].groups == convs[n].in_channels > 1)
    return dw / max(1, sum(per_layer.values()))


_VIEWS = (nn.Flatten, nn.Dropout, nn.Identity)     # return their input (or a view): no new memory


def activation_stats(model: nn.Module, input_size=IMAGENET_INPUT) -> dict:
    """Activation values one image creates, counted with forward hooks on the leaf modules.

    - ``total``: the input plus every tensor a layer creates (an in-place ReLU creates none):
      what a framework keeps for the backward pass, and the seeds' "memory per image"
      (views and eval-mode dropout create nothing);
    - ``total_with_inplace``: as if every ReLU wrote a new tensor;
    - ``largest_pair``: the largest input + output of one layer: what a chain-structured
      network needs at least at inference, when each buffer is freed once used;
    - ``weight_layers``: the Conv2d and Linear layers (VGG-16's "16").
    """
    counts = {"total": 0, "total_with_inplace": 0, "largest_pair": 0}
    x = torch.randn(*input_size, device=next(model.parameters()).device)
    counts["total"] = counts["total_with_inplace"] = x[0].numel()

    def hook(mod, inp, out):
        if not isinstance(out, torch.Tensor) or not inp or not isinstance(inp[0], torch.Tensor):
            return
        if isinstance(mod, _VIEWS):
            return
        n_in, n_out = inp[0][0].numel(), out[0].numel()
        inplace = getattr(mod, "inplace", False)
        counts["total_with_inplace"] += n_out
        counts["total"] += 0 if inplace else n_out
        counts["largest_pair"] = max(counts["largest_pair"], n_in + (0 if inplace else n_out))

    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.inference_mode():
            model.eval()(x)
    finally:
        for h in hooks:
            h.remove()
    counts["weight_layers"] = sum(isinstance(m, WEIGHTED) for m in leaves)
    return counts


LATENCY_REF = "resnet18"      # the reference of the latency table: the A/A control of each run


def measure_latency(names=REFERENCE_MODELS, batch_sizes=LATENCY_BATCHES, repeats: int = 7,
                    warmup: int = 2, progress=None, ref: str = LATENCY_REF) -> list[dict]:
    """CPU latency at 224 x 224 of the named models (random weights), all timed together per batch
    size by the lab's timing protocol, ``ref`` (when named) the A/A control.

    Returns one row per (model, batch): ``model, batch_size, median_ms, p25_ms, p75_ms,
    repeats, threads, macs, params, dw_share``, the run's per-round samples ``rounds_ms`` (the A/A
    control's row also ``aa_rounds_ms``: any pair of one batch size gets its paired ratio back,
    ``run_timing``) and the speedup over ``ref`` with its interval (``labkit.speedups.fields``:
    ``speedup``, ``speedup_lo``, ``speedup_hi``, ``within_noise``, ``noise_floor``, ``floor_line``;
    ``speedup_ref``). ``progress(fraction, text)`` is called per batch size.
    """
    models = {n: build(n) for n in names}
    static = {n: {"macs": metrics.count_macs(m, IMAGENET_INPUT), "params": metrics.count_params(m),
                  "dw_share": round(depthwise_macs_share(m), 4)} for n, m in models.items()}
    control = ref if ref in models else True
    rows = []
    for i, b in enumerate(batch_sizes):
        times = metrics.compare_latency(models, (b, 3, 224, 224), repeats=repeats, warmup=warmup, device="cpu",
                                        control=control, table=f"latency at batch {b}",
                                        budget_s=IMAGENET_BUDGET_S)
        for n, t in times.items():
            rows.append({"model": n, "batch_size": b, "median_ms": t.median_ms, "p25_ms": t.p25_ms,
                         "p75_ms": t.p75_ms, "repeats": t.repeats, "threads": t.threads, **static[n],
                         "rounds_ms": [round(x * 1e3, 6) for x in times.samples[n]],
                         **({"aa_rounds_ms": [round(x * 1e3, 6) for x in times.samples[times.aa_name]]}
                            if n == times.control else {}),
                         **(speedups.fields(times, n, times.control) | {"speedup_ref": times.control}
                            if n != times.control else {"floor_line": times.floor_line()})})
        if progress:
            progress((i + 1) / len(batch_sizes), f"batch {b} done")
    return rows


def run_timing(rows: list[dict], batch_size: int) -> timing.Timing | None:
    """The timing run behind the rows of one batch size, rebuilt from their per-round samples
    (``measure_latency``), so any two of its models get their paired ratio; ``None`` for rows without
    them (an older cache: only the ratio of medians is left)."""
    pts = [r for r in rows if r["batch_size"] == batch_size]
    aa = [r for r in pts if "aa_rounds_ms" in r]
    if not pts or not aa or not all("rounds_ms" in r for r in pts):
        return None
    control = aa[0]["model"]
    samples = {r["model"]: [x / 1e3 for x in r["rounds_ms"]] for r in pts}
    samples[control + timing.AA_SUFFIX] = [x / 1e3 for x in aa[0]["aa_rounds_ms"]]
    return timing.Timing(samples, control, batch_size, "cpu", table=f"latency at batch {batch_size}")


def _speed_cell(t: timing.Timing | None, base: dict, r: dict) -> str:
    if r["model"] == base["model"]:
        return "1 (reference)".rjust(timing.CELL_WIDTH)
    if t is not None:
        return t.cell(r["model"], base["model"])
    return speedups.medians_cell(base["median_ms"], r["median_ms"])


def latency_table(rows: list[dict], ref: str = LATENCY_REF) -> str:
    """Latency rows (``measure_latency`` or the cache) as a text table per batch size, cheapest
    first: MACs, share in depthwise convs, median latency, ms per GMAC, and both ratios vs ``ref``
    (> 1: cheaper / faster). The speed is the protocol's paired ratio with its 95 % interval (or
    "≈1 (within noise)") for rows timed together (``rounds_ms``), and each batch size's A/A noise
    floor is printed under the table; rows without per-round samples (an older cache) show the
    ratio of medians, marked "(medians)"."""
    out, notes = [], []
    for b in sorted({r["batch_size"] for r in rows}):
        base = next(r for r in rows if r["model"] == ref and r["batch_size"] == b)
        t = run_timing(rows, b)
        for r in sorted((r for r in rows if r["batch_size"] == b), key=lambda r: r["macs"]):
            out.append({"batch": b, "model": r["model"], "GMACs": r["macs"] / 1e9, "dw MACs %": 100 * r["dw_share"],
                        "latency": f"{r['median_ms']:9.3f} ms", "per GMAC": f"{r['median_ms'] / (b * r['macs'] / 1e9):9.3f} ms",
                        f"MACs vs {ref}": f"{base['macs'] / r['macs']:5.2f}x",
                        f"speed vs {ref}": _speed_cell(t, base, r)})
        floor = next((r["floor_line"] for r in rows if r["batch_size"] == b and r.get("floor_line")), None)
        notes.append(f"batch {b}: " + (floor if t is not None and floor else
                                        "no per-round samples in these rows: speed is the ratio of medians (medians), "
                                        "no interval, no noise floor"))
    table = text_table(out, {"batch": "d", "model": "s", "GMACs": ".3f", "dw MACs %": ".1f", "latency": "s",
                             "per GMAC": "s", f"MACs vs {ref}": "s", f"speed vs {ref}": "s"})
    return "\n".join([table, "speed: median of paired per-round ratios [95 % bootstrap interval]", *notes])


def disagreements(rows: list[dict], batch_size: int = 1) -> list[dict]:
    """Pairs (a, b) at one batch size where ``a`` has fewer MACs than ``b`` yet is slower:
    ``macs_ratio = macs_b / macs_a`` (> 1) and ``slower = latency_a / latency_b`` (> 1), largest
    MACs ratio first. For rows timed together (``measure_latency``), ``slower`` is the paired
    ratio, with ``slower_lo``, ``slower_hi`` and ``slower_text`` ("1.67x [1.50-1.80]"), and a pair
    counts only where the protocol's verdict says slower (never within noise); for rows without
    per-round samples (an older cache) it is the ratio of medians, ``slower_text`` marked "(medians)"."""
    pts = [r for r in rows if r["batch_size"] == batch_size]
    t = run_timing(rows, batch_size)
    pairs = []
    for a in pts:
        for b in pts:
            if not a["macs"] < b["macs"]:
                continue
            pair = {"fewer_macs": a["model"], "more_macs": b["model"], "macs_ratio": b["macs"] / a["macs"]}
            if t is not None:
                if t.verdict(a["model"], b["model"]) != "slower":
                    continue
                r = t.ratio(b["model"], a["model"])            # t_a / t_b: > 1, a is slower
                pair.update(slower=r.value, slower_lo=r.lo, slower_hi=r.hi, slower_text=str(r))
            elif a["median_ms"] > b["median_ms"]:
                pair.update(slower=a["median_ms"] / b["median_ms"],
                            slower_text=f"{a['median_ms'] / b['median_ms']:.2f}x (medians)")
            else:
                continue
            pairs.append(pair)
    return sorted(pairs, key=lambda p: -p["macs_ratio"])


def latency_recipe(models=REFERENCE_MODELS, batch_sizes=LATENCY_BATCHES, repeats: int = 7, warmup: int = 2,
                   log=print):
    """The cached latency sweep (``python -m labkit sweep trend-latency``): ``measure_latency`` of
    ``models`` at ``batch_sizes``; rows as ``measure_latency`` returns them."""
    log(f"measuring {len(models)} models at batch sizes {tuple(batch_sizes)} on {torch.get_num_threads()} threads ...")
    rows = measure_latency(models, batch_sizes, repeats=repeats, warmup=warmup, progress=lambda f, t: log(f"  {t}"))
    for r in rows:
        log(f"{r['model']:20s} batch {r['batch_size']:2d} {r['median_ms']:9.2f} ms")
    params = {"models": list(models), "batch_sizes": list(batch_sizes), "repeats": repeats, "warmup": warmup,
              "device": "cpu", "input": list(IMAGENET_INPUT[1:]), "weights": "random (architecture only)"}
    return rows, params, {}


def latency_view(doc: dict) -> dict:
    """A cached latency sweep as notebook 01 reads it: ``{device, input, weights, rows}`` plus the
    cache's ``command``, ``labkit``, ``torch``, ``threads``, ``created``, ``seconds``."""
    from .. import cache
    p = doc["params"]
    return {**cache.meta(doc), "device": p["device"], "input": p["input"], "weights": p["weights"],
            "rows": [dict(r) for r in doc["rows"]]}


def load_latency(path: str | Path | None = None) -> dict:
    """The cached latency of the reference models (``python -m labkit sweep trend-latency``), in the
    shape of ``latency_view``, or a one-line error naming that command."""
    from .. import cache
    return cache.read("trend-latency", path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.compact.trend",
                                description="The ImageNet trend's data (its latency sweep: "
                                            "python -m labkit sweep trend-latency).")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("table", help="print every model with its metadata")
    p.parse_args(argv)
    from ..env import setup
    setup(quiet=True)
    rows, skipped = imagenet_models()
    for r in rows:
        print(f"{r['year']}  {r['model']:20s} {r['params']:>12,} params {r['macs'] / 1e9:8.3f} GMACs "
              f"{r['accuracy_pct']:6.2f} %")
    print("left out (no ImageNet-1K-only weights):", ", ".join(skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
