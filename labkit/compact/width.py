"""Notebook 00's first trade-off: the compact net at four widths (zoo checkpoints), and a live width.
"""
from __future__ import annotations

from .. import points, zoo
from ..models import compact_net
from ..train import evaluate, train

WIDTHS = (0.25, 0.5, 0.75, 1.0)


def compact_width_sweep(batch_size: int = 1, repeats: int = 30) -> tuple[list[dict], dict]:
    """The compact net's zoo checkpoints at every width, measured now (latency interleaved).

    Returns ``(points, models)``; ``models`` maps ``"compact-w{width}"`` to the loaded model.
    """
    models = {f"compact-w{w}": zoo.load(f"compact-w{w}") for w in WIDTHS}
    measured = points.measure(models, batch_size=batch_size, repeats=repeats)
    return [points.make({"width": w}, **measured[f"compact-w{w}"].as_dict()) for w in WIDTHS], models


def train_compact_width(width: float, epochs: float = 1.0, limit: int | None = 12_000, batch_size: int = 1,
                        report=None) -> dict:
    """Train a compact net of ``width`` briefly (live), and measure it: one sweep point."""
    model = compact_net(width)
    train(model, epochs=epochs, lr=4e-3, batch_size=128, limit=limit, progress=report is None,
          desc=f"width {width}", report=report)
    acc = evaluate(model)
    p = points.measure({"live": model}, batch_size=batch_size, accuracy={"live": acc})["live"]
    return points.make({"width": width, "epochs": epochs, "limit": limit}, label="live", **p.as_dict())
