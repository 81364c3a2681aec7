"""Notebook 03's cached PTQ / k-means sweep: accuracy vs bits for every mode and range method.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
import torch
from . import quant
from .. import size, validate
from ..paths import cache_dir, read_cache, write_json
from .ptq import CALIB_IMAGES, quantize_model, share_weights, size_bytes


BITS = (8, 7, 6, 5, 4, 3, 2)


MODES = {"weights": False, "weights+activations": True}


SWEEP_FILE = "03_ptq_sweep.json"


def ptq_point(model, bits, mode: str, method: str, accuracy_fn=None) -> dict:
    """One PTQ point: accuracy (test, %), bytes (``size_bytes``), MACs, with its config."""
    from ..metrics import count_macs
    from ..train import evaluate
    validate.choice(mode, MODES, "PTQ mode")
    q = quantize_model(model, bits, bits if MODES[mode] else None, method)
    return {"config": {"bits": bits, "mode": mode, "range": method},
            "accuracy_pct": round((accuracy_fn or evaluate)(q), 4), "size_bytes": size_bytes(q), "macs": count_macs(q)}


def kmeans_point(model, bits) -> dict:
    """One weight-sharing point: k-means at ``bits``, stored as the ``codebook`` format."""
    from ..metrics import count_macs
    from ..train import evaluate
    m = share_weights(model, bits)
    return {"config": {"bits": bits, "mode": "k-means weights"}, "accuracy_pct": round(evaluate(m), 4),
            "size_bytes": size.size_bytes(m, "codebook", bits), "macs": count_macs(m)}


def sweep(model_name: str = "cnn", bits=BITS, methods=quant.RANGE_METHODS, progress=print) -> dict:
    """Accuracy vs bits for every PTQ mode and range method, and for k-means weight sharing."""
    from .. import zoo
    model = zoo.load(model_name)
    points, kmeans = [], []
    t0 = time.perf_counter()
    for b in bits:
        for mode in MODES:
            for method in methods:
                points.append(ptq_point(model, b, mode, method))
                progress(f"[{time.perf_counter() - t0:6.1f} s] {points[-1]['config']}: {points[-1]['accuracy_pct']:.2f} %")
        kmeans.append(kmeans_point(model, b))
        progress(f"[{time.perf_counter() - t0:6.1f} s] k-means {b} bits: {kmeans[-1]['accuracy_pct']:.2f} %")
    return {"model": model_name, "calib_images": CALIB_IMAGES, "torch": torch.__version__.split("+")[0],
            "threads": torch.get_num_threads(), "command": "python -m labkit.ptq sweep", "ptq": points, "kmeans": kmeans}


def load_sweep(path: str | Path | None = None) -> dict:
    """Notebook 03's cached PTQ / k-means sweep (made by ``python -m labkit.ptq sweep``)."""
    return read_cache(path or SWEEP_FILE, "python -m labkit.ptq sweep")


def sweep_cli(module: str, make, file: str, argv=None) -> int:
    """``python -m labkit.<module> sweep [--out PATH]``: recompute one of notebook 03's cached
    sweeps with ``make()`` and write it (default ``notebooks/cache/<file>``)."""
    p = argparse.ArgumentParser(prog=f"python -m labkit.{module}",
                                description=f"Recompute notebook 03's cached {module} sweep.")
    p.add_argument("cmd", choices=["sweep"])
    p.add_argument("--out", type=Path, default=cache_dir() / file)
    args = p.parse_args(argv)
    from ..env import setup
    setup(device="cpu", quiet=True)
    print(f"wrote {write_json(make(), args.out)}")
    return 0


def main(argv=None) -> int:
    return sweep_cli("ptq", sweep, SWEEP_FILE, argv)


if __name__ == "__main__":
    sys.exit(main())
