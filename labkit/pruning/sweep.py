"""Notebook 02's measured points and its cached sweep (fine-grained, channel, joint).

``fine_point`` / ``channel_point`` / ``joint_point`` prune, fine-tune and measure one model;
``sweep`` computes every point of the dashboard (minutes; ``python -m labkit sweep pruning``).
"""
from __future__ import annotations

import argparse
import copy
import sys
import torch
from torch import nn
from .. import metrics, validate
from ..paths import cache_dir, read_cache, write_json
from .sensitivity import Scan, sensitivity_scan
from .channels import _ratio, channel_prune
from .masks import apply_masks_, finetune_, global_magnitude_masks, iterative_prune_, weight_sparsity


def point(config: dict, model: nn.Module, accuracy: float, fmt: str = "fp32", latency_ms: float = 0.0,
          label: str | None = None) -> dict:
    """A sweep point: accuracy, size under ``fmt`` (``sparse-csr`` for zeros worth storing as such),
    MACs (nonzero MACs for sparse formats), latency (see ``time_points``)."""
    from ..size import size_bytes
    macs = metrics.count_macs(model, nonzero=True) if fmt.startswith("sparse") else metrics.count_macs(model)
    p = {"config": dict(config), "accuracy_pct": float(accuracy), "size_bytes": size_bytes(model, fmt),
         "macs": macs, "latency_ms": float(latency_ms)}
    if label:
        p["label"] = label
    return p


def fine_point(base: nn.Module, scan: Scan, sparsity, epochs: float = 1.0, steps: int = 3,
               report=None, label=None) -> tuple[dict, nn.Module]:
    """Prune a copy of ``base`` to overall ``sparsity`` with the allocation ``scan`` derives, in
    ``steps`` prune + fine-tune rounds (Han et al. 2015); point with size in ``sparse-csr``."""
    from ..train import evaluate
    model = copy.deepcopy(base)
    iterative_prune_(model, scan.allocate_for(sparsity), steps=steps, epochs=epochs, report=report)
    cfg = {"sparsity": validate.sparsity(sparsity), "achieved": round(weight_sparsity(model), 4), "epochs": epochs}
    return point(cfg, model, evaluate(model), "sparse-csr", label=label), model


def channel_point(base: nn.Module, ratio, epochs: float = 0.5, importance=None, report=None,
                  label=None) -> tuple[dict, nn.Module]:
    """Remove ``ratio`` of the channels (L1 filters by default), fine-tune; point with size in ``fp32``."""
    from ..train import evaluate
    model = channel_prune(base, ratio, importance=importance)
    finetune_(model, epochs, report=report, desc=f"channels -{_ratio(ratio):.0%}")
    return point({"ratio": _ratio(ratio), "epochs": epochs}, model, evaluate(model), "fp32", label=label), model


def joint_point(channel_model: nn.Module, sparsity, epochs: float = 0.3, ratio=None, report=None,
                label=None) -> tuple[dict, nn.Module]:
    """Multi-level: global magnitude pruning to ``sparsity`` on top of a channel-pruned model,
    fine-tuned with the mask held; point with size in ``sparse-csr``."""
    from ..train import evaluate
    model = copy.deepcopy(channel_model)
    masks = global_magnitude_masks(model, sparsity)
    apply_masks_(model, masks)
    finetune_(model, epochs, masks, report=report, desc=f"joint {validate.sparsity(sparsity):.0%}")
    cfg = {"sparsity": validate.sparsity(sparsity), "ratio": ratio, "epochs": epochs}
    return point(cfg, model, evaluate(model), "sparse-csr", label=label), model


SWEEP = {"prune-fine": (0.5, 0.8, 0.9, 0.95, 0.97),
         "prune-channel": (0.2, 0.3, 0.4, 0.5, 0.6),
         "prune-joint": (0.5, 0.7, 0.8, 0.9)}


EPOCHS = {"prune-fine": 1.0, "prune-channel": 0.5, "prune-joint": 0.3}


SWEEP_RATIO = 0.3           # the channel ratio the joint sweep starts from


SWEEP_FILE = "02_pruning_sweep.json"


def sweep(model_name: str = "cnn", progress: bool = True) -> dict:
    """Every point of notebook 02's dashboard, recomputed (minutes): fine-grained (sensitivity
    allocation), channel (L1 filters), joint (channels ``SWEEP_RATIO`` + global magnitude), each
    fine-tuned ``EPOCHS[method]``; all latencies timed interleaved with the baseline at batch 1."""
    from .. import zoo
    from ..train import evaluate
    base = zoo.load(model_name)
    say = print if progress else (lambda *a, **k: None)
    scan = sensitivity_scan(base)
    pairs = {m: [] for m in SWEEP}
    for s in SWEEP["prune-fine"]:
        pairs["prune-fine"].append(fine_point(base, scan, s, EPOCHS["prune-fine"]))
        say("prune-fine", pairs["prune-fine"][-1][0])
    for r in SWEEP["prune-channel"]:
        pairs["prune-channel"].append(channel_point(base, r, EPOCHS["prune-channel"]))
        say("prune-channel", pairs["prune-channel"][-1][0])
    channel_model = dict(zip(SWEEP["prune-channel"], pairs["prune-channel"]))[SWEEP_RATIO][1]
    for s in SWEEP["prune-joint"]:
        pairs["prune-joint"].append(joint_point(channel_model, s, EPOCHS["prune-joint"], ratio=SWEEP_RATIO))
        say("prune-joint", pairs["prune-joint"][-1][0])
    data = {"model": model_name, "baseline": point({"model": model_name}, base, evaluate(base)), "epochs": EPOCHS,
            "methods": {m: [p for p, _ in pairs[m]] for m in SWEEP},
            "batch_size": 1, "threads": torch.get_num_threads(), "torch": torch.__version__.split("+")[0],
            "command": "python -m labkit.prune sweep"}
    return retime(data, base)


def architecture(base: nn.Module, technique: str, config: dict) -> nn.Module:
    """The dense architecture a sweep point runs as: ``base`` itself for fine-grained sparsity (dense
    kernels do the same work whatever the weights), ``channel_prune(base, ratio)`` for channel and
    joint points (the channel counts of the trained model, with other weights)."""
    validate.choice(technique, SWEEP, "method")
    return base if technique == "prune-fine" else channel_prune(base, config["ratio"])


def retime(sweep_data: dict, base: nn.Module, batch_size: int = 1, repeats: int = 20) -> dict:
    """A copy of ``sweep_data`` with every latency measured now: each point's architecture (see
    ``architecture``) and ``base`` timed interleaved in one run with dense kernels (a fine-grained
    point runs exactly the baseline's computation, so it gets the baseline's time). Accuracy, size
    and MACs are kept (they do not depend on the machine)."""
    data = copy.deepcopy(sweep_data)
    archs: dict[str, nn.Module] = {}
    keys = []
    for technique, points in data["methods"].items():
        for p in points:
            key = "baseline" if technique == "prune-fine" else f"ratio {p['config']['ratio']}"
            if key not in archs and key != "baseline":
                archs[key] = architecture(base, technique, p["config"])
            keys.append((p, key))
    t = metrics.compare_latency({"baseline": base, **archs}, (batch_size, *metrics.MNIST_INPUT[1:]), repeats=repeats)
    for p, key in keys:
        p["latency_ms"] = t[key].median_ms
    data["baseline"]["latency_ms"] = t["baseline"].median_ms
    data["batch_size"], data["threads"] = batch_size, torch.get_num_threads()
    return data


def time_live(point: dict, model: nn.Module, technique: str, sweep_data: dict, base: nn.Module,
              repeats: int = 20) -> dict:
    """Give a point computed live a latency on the scale of ``sweep_data`` (timed by ``retime``), so
    the dashboard compares like with like: a fine-grained point computes exactly what the baseline
    computes and gets the sweep baseline's time; any other model is timed interleaved with ``base``
    now and gets ``sweep baseline ms * (its ms / base ms)``. Returns ``point``."""
    validate.choice(technique, SWEEP, "method")
    ref = sweep_data["baseline"]["latency_ms"]
    if technique == "prune-fine":
        point["latency_ms"] = ref
    else:
        t = metrics.compare_latency({"base": base, "live": model},
                                    (sweep_data.get("batch_size", 1), *metrics.MNIST_INPUT[1:]), repeats=repeats)
        point["latency_ms"] = ref * t["live"].median_ms / t["base"].median_ms
    return point


def load_sweep(path=None) -> dict:
    """The cached sweep (``notebooks/cache/02_pruning_sweep.json``), or a one-line error naming the
    command that makes it."""
    return read_cache(path or SWEEP_FILE, "python -m labkit.prune sweep")


def main(argv=None) -> int:
    from ..env import setup
    p = argparse.ArgumentParser(prog="python -m labkit.prune", description="Notebook 02's cached pruning sweep.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("sweep", help=f"recompute notebooks/cache/{SWEEP_FILE} (minutes)")
    p.parse_args(argv)
    setup(quiet=True)
    print(f"wrote {write_json(sweep(), cache_dir() / SWEEP_FILE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
