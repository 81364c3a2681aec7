"""Knowledge-distillation losses, pure tensor functions.

- ``soft_targets(logits, T)``: the softened softmax ``softmax(z / T)``.
- ``kd_loss``: Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network"
  (arXiv:1503.02531, 2015): ``alpha * T**2 * KL(p_teacher^T || p_student^T) + (1 - alpha) * CE``;
  the ``T**2`` keeps the soft gradient on the hard term's scale as T changes.
- ``attention_map`` / ``attention_loss`` / ``FeatureTaps``: attention transfer (Zagoruyko &
  Komodakis, "Paying More Attention to Attention", ICLR 2017).
"""
from __future__ import annotations

import math
from typing import Sequence
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from .. import validate


# ---------------------------------------------------------------------------- tensors
def _temperature(T) -> float:
    try:
        t = float(T)
    except (TypeError, ValueError):
        raise TypeError(f"temperature T must be a number > 0, got {T!r}: e.g. T=4") from None
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"temperature T must be > 0, got {T!r}: e.g. T=4 (T=1 is the ordinary softmax)")
    return t


def _alpha(alpha) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must be a number in [0, 1], got {alpha!r}: the weight of the distillation term, e.g. 0.9") from None
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}: the weight of the distillation term "
                         f"(0: labels only, 1: teacher only), e.g. 0.9")
    return a


def soft_targets(logits: Tensor, T: float = 1.0) -> Tensor:
    """``softmax(logits / T)`` over the last dimension: T > 1 spreads the probability mass
    onto the classes the model finds *almost* right (Hinton et al., 2015, eq. 1)."""
    return torch.softmax(logits / _temperature(T), dim=-1)


def kd_loss(student_logits: Tensor, teacher_logits: Tensor, y: Tensor | None = None,
            T: float = 4.0, alpha: float = 0.9) -> Tensor:
    """Hinton et al.'s distillation loss, averaged over the batch.

    ``alpha * T**2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)``, with
    the KL divergence summed over classes and averaged over samples (``batchmean``). With
    ``alpha=1`` the labels ``y`` may be ``None``. The teacher's logits get no gradient.
    """
    T, alpha = _temperature(T), _alpha(alpha)
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student logits {tuple(student_logits.shape)} and teacher logits "
                         f"{tuple(teacher_logits.shape)} differ: both must be (batch, classes)")
    log_p_s = F.log_softmax(student_logits / T, dim=-1)
    log_p_t = F.log_softmax(teacher_logits.detach() / T, dim=-1)
    soft = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * T * T
    if alpha == 1.0:
        return soft
    if y is None:
        raise ValueError("kd_loss needs the labels y when alpha < 1 (the hard-label term): pass y, or alpha=1")
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, y)


def attention_map(features: Tensor) -> Tensor:
    """Zagoruyko & Komodakis (2017): ``normalize(mean_c A_c**2)`` flattened, (batch, H*W).

    Which positions a layer "looks at", independent of its channel count, so a thin student
    can be compared with a wide teacher at the same resolution."""
    if features.dim() != 4:
        raise ValueError(f"attention_map needs (batch, channels, H, W) features, got shape {tuple(features.shape)}")
    return F.normalize(features.pow(2).mean(1).flatten(1), dim=1)


def attention_loss(student_maps: Sequence[Tensor], teacher_maps: Sequence[Tensor]) -> Tensor:
    """Sum over stages of the mean squared distance between normalised attention maps
    (both (batch, H*W)); a teacher map of another resolution is average-pooled to the student's."""
    if len(student_maps) != len(teacher_maps):
        raise ValueError(f"{len(student_maps)} student stages vs {len(teacher_maps)} teacher stages: pair them one to one")
    total = 0.0
    for s, t in zip(student_maps, teacher_maps):
        if s.shape != t.shape:
            hs, ht = math.isqrt(s.shape[1]), math.isqrt(t.shape[1])
            t = F.normalize(F.adaptive_avg_pool2d(t.reshape(-1, 1, ht, ht), hs).flatten(1), dim=1)
        total = total + (s - t.detach()).pow(2).mean()
    return total


# ---------------------------------------------------------------------------- models
class FeatureTaps:
    """Forward hooks that keep the outputs of some layers of a model (``taps.features``)."""

    def __init__(self, model: nn.Module, layers: Sequence[int | str]):
        validate.module(model)
        named = dict(model.named_modules())
        self.features: list[Tensor] = []
        self._hooks = []
        for layer in layers:
            key = str(layer)
            if key not in named:
                raise ValueError(f"layer {layer!r} is not in the model: use module names such as "
                                 f"{[n for n in named if n][:6]}")
            self._hooks.append(named[key].register_forward_hook(lambda _m, _i, out: self.features.append(out)))

    def pop(self) -> list[Tensor]:
        out, self.features = self.features, []
        return out

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []


# Stages of labkit.models.baseline_cnn (any width): outputs of the three max-pool layers,
# (w, 14, 14), (2w, 7, 7), (4w, 3, 3).
CNN_STAGES = (3, 7, 11)
