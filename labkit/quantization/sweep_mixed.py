"""Notebook 03's cached mixed-precision sweep: sensitivity table and allocations at several budgets.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
import torch
from . import ptq
from ..paths import read_cache
from .mixed import OPTIONS, SENSITIVITY_IMAGES, allocate_bits, budget_bytes, layer_bytes, mixed_point, sensitivity


SWEEP_FILE = "03_mixed_sweep.json"


AVG_BITS = (2.25, 2.5, 2.75, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0)


def sweep(model_name: str = "cnn", avg_bits=AVG_BITS, progress=print) -> dict:
    """Sensitivity table, then mixed allocations at every ``avg_bits`` budget and uniform bits at the
    whole numbers among them (weights only, ``mse`` ranges), all evaluated on the test set."""
    from .. import zoo
    model = zoo.load(model_name)
    t0 = time.perf_counter()
    sens = sensitivity(model)
    progress(f"[{time.perf_counter() - t0:6.1f} s] sensitivity measured")
    sizes, rest = layer_bytes(model)
    points = []
    for a in avg_bits:
        alloc = allocate_bits(sens, sizes, budget_bytes(model, a), rest)
        points.append(mixed_point(model, alloc, {"avg_bits": a, "allocation": "mixed"}))
        progress(f"[{time.perf_counter() - t0:6.1f} s] mixed {a}: {alloc} {points[-1]['accuracy_pct']:.2f} %")
        if float(a).is_integer() and int(a) in OPTIONS:
            names = list(alloc)
            points.append(mixed_point(model, {n: int(a) for n in names}, {"avg_bits": a, "allocation": "uniform"}))
            progress(f"[{time.perf_counter() - t0:6.1f} s] uniform {a}: {points[-1]['accuracy_pct']:.2f} %")
    return {"model": model_name, "options": list(OPTIONS), "sensitivity_images": SENSITIVITY_IMAGES,
            "torch": torch.__version__.split("+")[0], "threads": torch.get_num_threads(),
            "command": "python -m labkit.mixed sweep",
            "sensitivity": {n: {str(b): v for b, v in t.items()} for n, t in sens.items()}, "points": points}


def load_sweep(path: str | Path | None = None) -> dict:
    """Notebook 03's cached mixed-precision sweep; sensitivity keys back to ints."""
    data = read_cache(path or SWEEP_FILE, "python -m labkit.mixed sweep")
    data["sensitivity"] = {n: {int(b): v for b, v in t.items()} for n, t in data["sensitivity"].items()}
    return data


def main(argv=None) -> int:
    return ptq.sweep_cli("mixed", sweep, SWEEP_FILE, argv)


if __name__ == "__main__":
    sys.exit(main())
