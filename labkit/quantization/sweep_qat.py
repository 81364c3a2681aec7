"""Notebook 03's cached QAT sweep: PTQ vs QAT at each weight width.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
import torch
from . import ptq
from ..paths import read_cache
from .qat import ACT_BITS, EPOCHS, LR, quantization_aware_training


SWEEP_FILE = "03_qat_sweep.json"


BITS = (8, 6, 4, 3, 2)


def sweep(model_name: str = "cnn", bits=BITS, epochs: float = EPOCHS, lr: float = LR, progress=print) -> dict:
    """PTQ (weights and activations, ``mse`` ranges) vs QAT at each of ``bits`` weight bits, 8-bit inputs."""
    from .. import zoo
    from ..metrics import count_macs
    from ..train import evaluate
    model = zoo.load(model_name)
    points = []
    t0 = time.perf_counter()
    for b in bits:
        for how in ("ptq", "qat"):
            if how == "ptq":
                q = ptq.quantize_model(model, b, ACT_BITS, "mse")
            else:
                q = quantization_aware_training(model, b, ACT_BITS, epochs, lr, progress=False)
            points.append({"config": {"bits": b, "act_bits": ACT_BITS, "method": how,
                                      **({"epochs": epochs, "lr": lr} if how == "qat" else {})},
                           "accuracy_pct": round(evaluate(q), 4), "size_bytes": ptq.size_bytes(q),
                           "macs": count_macs(q)})
            progress(f"[{time.perf_counter() - t0:6.1f} s] {points[-1]['config']}: {points[-1]['accuracy_pct']:.2f} %")
    return {"model": model_name, "torch": torch.__version__.split("+")[0], "threads": torch.get_num_threads(),
            "command": "python -m labkit.qat sweep", "points": points}


def load_sweep(path: str | Path | None = None) -> dict:
    """Notebook 03's cached QAT sweep (made by ``python -m labkit.qat sweep``)."""
    return read_cache(path or SWEEP_FILE, "python -m labkit.qat sweep")


def main(argv=None) -> int:
    return ptq.sweep_cli("qat", sweep, SWEEP_FILE, argv)


if __name__ == "__main__":
    sys.exit(main())
