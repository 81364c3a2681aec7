"""What top-1 hides: calibration, per-class accuracy, and the examples compression forgets.

Pure functions on predictions (``pred``: predicted class per image, ``conf``: the predicted
class's softmax probability, ``labels``): the notebook computes them live from the cached
population in seconds.

- ``ece``: expected calibration error (Naeini et al., AAAI 2015; Guo et al., "On Calibration
  of Modern Neural Networks", ICML 2017) with ``bins`` equal-width bins on (0, 1]: bin ``b``
  holds the confidences in ``(b / bins, (b + 1) / bins]`` (a confidence of exactly 0 goes to the
  first bin). ``ECE = sum_b |B_b| / n * |accuracy(B_b) - confidence(B_b)|``.
- ``class_accuracy`` / ``class_drop``: accuracy per class, and its change against a baseline.
- ``exemplars``: Hooker et al. ("What Do Compressed Deep Neural Networks Forget?", 2019):
  images where the modal (most frequent) prediction of a population of compressed models
  differs from the dense population's.
"""
from __future__ import annotations

import torch

NUM_CLASSES = 10
BINS = 15


def _flat(x, dtype=None) -> torch.Tensor:
    t = torch.as_tensor(x)
    return t.reshape(-1).to(dtype) if dtype is not None else t.reshape(-1)


def bin_index(conf, bins: int = BINS) -> torch.Tensor:
    """The bin of each confidence: ``ceil(conf * bins) - 1``, clamped to ``[0, bins - 1]``
    (bins are ``(b / bins, (b + 1) / bins]``, 0 joins the first)."""
    c = _flat(conf, torch.float64)
    return (torch.ceil(c * bins).long() - 1).clamp(0, bins - 1)


def reliability(conf, correct, bins: int = BINS) -> dict:
    """Per bin: ``count``, mean ``confidence`` and ``accuracy`` (NaN where empty), and ``edges``."""
    c, ok = _flat(conf, torch.float64), _flat(correct, torch.float64)
    if len(c) != len(ok) or len(c) == 0:
        raise ValueError(f"conf and correct must be non-empty and of one length, got {len(c)} and {len(ok)}")
    if bool(((c < 0) | (c > 1)).any()):
        raise ValueError("confidences must lie in [0, 1]: pass softmax probabilities, not logits")
    b = bin_index(c, bins)
    count = torch.bincount(b, minlength=bins).double()
    conf_sum = torch.bincount(b, weights=c, minlength=bins)
    acc_sum = torch.bincount(b, weights=ok, minlength=bins)
    nan = torch.full_like(count, float("nan"))
    return {"edges": torch.linspace(0, 1, bins + 1), "count": count,
            "confidence": torch.where(count > 0, conf_sum / count.clamp(min=1), nan),
            "accuracy": torch.where(count > 0, acc_sum / count.clamp(min=1), nan)}


def ece(conf, correct, bins: int = BINS) -> float:
    """Expected calibration error, as a fraction (x100 for points). ``conf``: confidence of the
    predicted class in [0, 1]; ``correct``: 1 where the prediction is right."""
    r = reliability(conf, correct, bins)
    n = r["count"].sum()
    gap = (r["accuracy"] - r["confidence"]).abs().nan_to_num(0.0)
    return float((r["count"] / n * gap).sum())


def confidence_of(probs) -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted class, its probability) from probabilities (N, classes)."""
    p = torch.as_tensor(probs)
    conf, pred = p.max(dim=1)
    return pred, conf


def class_accuracy(pred, labels, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Accuracy in % of each class (``num_classes`` values)."""
    pred, labels = _flat(pred).long(), _flat(labels).long()
    total = torch.bincount(labels, minlength=num_classes).double()
    right = torch.bincount(labels[pred == labels], minlength=num_classes).double()
    return 100.0 * right / total.clamp(min=1)


def class_drop(pred, baseline_pred, labels, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Per-class accuracy change in points, compressed minus baseline (negative: forgotten)."""
    return class_accuracy(pred, labels, num_classes) - class_accuracy(baseline_pred, labels, num_classes)


def modal(preds) -> torch.Tensor:
    """The most frequent prediction per image over a population (``preds``: (models, N)); ties go
    to the lowest class index."""
    p = torch.as_tensor(preds).long()
    counts = torch.nn.functional.one_hot(p, NUM_CLASSES).sum(0)                  # (N, classes)
    return counts.argmax(1)


def exemplars(compressed_preds, dense_preds) -> torch.Tensor:
    """Indices of the compression-identified exemplars (Hooker et al. 2019): images where the
    modal prediction of the compressed population differs from the dense population's."""
    return torch.nonzero(modal(compressed_preds) != modal(dense_preds)).reshape(-1)
