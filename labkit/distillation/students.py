"""Students and their data budget: ``make_student``, ``train_student`` (alone, with KD or with
attention transfer), and recovering a pruned network with its unpruned original as teacher.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence
import torch
import torch.nn.functional as F
from torch import nn
from .. import validate
from ..data import SUBSETS, subset
from .losses import CNN_STAGES, FeatureTaps, kd_loss
from .teacher import TeacherCache, _epsilon, attention_objective, kd_objective, smoothing_objective


# ---------------------------------------------------------------------------- the student's protocol
VAL_START = SUBSETS["val"][0]     # training images 50,000-59,999 (data.SUBSETS["val"]): never in a student's budget


@dataclass(frozen=True)
class Budget:
    """What the student may use: the first ``images`` labelled training images, seen
    ``samples`` times in all (``epochs = samples / images``), and its architecture."""
    images: int = 2_000        # labelled images (the scenario: little labelled data, a good teacher)
    samples: int = 80_000      # images seen in training: same compute whatever ``images`` is
    width: int = 4             # student = baseline_cnn(width=4): 41k params, 43x fewer MACs than the teacher
    lr: float = 2e-3           # Adam, cosine decay to 0 (labkit.train defaults)
    batch_size: int = 128

    def __post_init__(self):
        if not 1 <= int(self.images) <= VAL_START:
            raise ValueError(f"images must be in [1, {VAL_START}], got {self.images}: the last 10,000 training images "
                             f"are the validation set")
        if self.samples < self.images:
            raise ValueError(f"samples ({self.samples}) must be >= images ({self.images}): at least one epoch")

    @property
    def epochs(self) -> float:
        return self.samples / self.images


def make_student(width: int = 4, seed: int = 0) -> nn.Module:
    """The student: ``labkit.models.baseline_cnn(width=...)``, initialised from ``seed``
    (the teacher ``cnn`` is the same architecture at width 32)."""
    from ..models import baseline_cnn
    from ..env import seed_everything
    seed_everything(seed)
    return baseline_cnn(width=width)


def validation_batches(batch_size: int = 1000, device=None) -> list:
    """The ``val`` images of ``labkit.data.SUBSETS`` (training images 50,000-59,999) as (x, y)
    batches: the set on which T, alpha, ... are chosen."""
    return subset("val", batch_size, device)


def validation_accuracy(model: nn.Module) -> float:
    """Accuracy in % on the validation images (training images 50,000-59,999)."""
    from ..train import evaluate
    return evaluate(model, validation_batches())


def train_student(seed: int = 0, cache: TeacherCache | None = None, T: float = 4.0, alpha: float = 0.9,
                  beta: float = 0.0, budget: Budget = Budget(), stages: Sequence[int] = CNN_STAGES[:2],
                  progress: bool = False, report=None, desc: str = "student",
                  label_smoothing: float = 0.0) -> nn.Module:
    """A student trained on ``budget``: alone (``cache=None``), with Hinton's KD (``T``,
    ``alpha``), or with attention transfer at ``stages`` too (``beta > 0``; the cache must
    hold the teacher's maps of as many stages). ``label_smoothing`` > 0 (no cache): alone, on
    smoothed labels (``smoothing_objective``), KD's teacher-free control. Same seed: same
    initial weights and data order."""
    from ..train import train
    if _epsilon(label_smoothing) > 0 and cache is not None:
        raise ValueError("label_smoothing is the control without a teacher: pass cache=None with it, "
                         "or label_smoothing=0 with the teacher's cache")
    model = make_student(budget.width, seed)
    taps, loss = None, None
    if label_smoothing > 0:
        loss = smoothing_objective(label_smoothing)
    elif cache is not None:
        if beta > 0:
            taps = FeatureTaps(model, stages)
            loss = attention_objective(cache, taps, beta, T, alpha)
        else:
            loss = kd_objective(cache, T, alpha)
    try:
        train(model, epochs=budget.epochs, lr=budget.lr, batch_size=budget.batch_size, limit=budget.images,
              seed=seed, loss=loss, progress=progress, report=report, desc=desc)
    finally:
        if taps is not None:
            taps.remove()
    return model


# ---------------------------------------------------------------------------- recovering a compressed copy
def prune_copy(model: nn.Module, sparsity: float) -> nn.Module:
    """A copy of ``model`` with the ``sparsity`` fraction of smallest-magnitude weights of all
    its Conv2d/Linear layers set to zero, globally (``torch.nn.utils.prune.global_unstructured``,
    L1; Han et al., "Learning both Weights and Connections", NeurIPS 2015). The masks stay
    attached (``weight = weight_orig * weight_mask``) so training keeps the zeros;
    ``remove_masks_`` makes them permanent. ``model`` is not changed."""
    import copy
    from torch.nn.utils import prune
    s = validate.sparsity(sparsity)
    pruned = copy.deepcopy(validate.module(model))
    from ..layers import weighted_layers
    from ..pruning import global_magnitude_masks
    masks = global_magnitude_masks(pruned, s)
    layers = weighted_layers(pruned)
    for name, mask in masks.items():
        prune.custom_from_mask(layers[name], "weight", mask)
    with torch.no_grad():          # refresh .weight outside autograd, so the copy can be copied again
        for m in layers.values():
            m.weight = m.weight_orig * m.weight_mask
    return pruned


def remove_masks_(model: nn.Module) -> nn.Module:
    """Make the pruning masks of ``prune_copy`` permanent (plain weights with zeros), in place."""
    from torch.nn.utils import prune
    for m in model.modules():
        if prune.is_pruned(m) and hasattr(m, "weight_mask"):
            prune.remove(m, "weight")
    return model


RECOVER_METHODS = ("fine-tune", "kd", "kd+features")


def recover_(model: nn.Module, teacher: nn.Module, method: str = "kd+features", seed: int = 0, images: int = 200,
            samples: int = 2_000, lr: float = 3e-3, T: float = 1.0, gamma: float = 1.0,
            stages: Sequence[int] = CNN_STAGES, progress: bool = False, report=None) -> nn.Module:
    """Train a compressed copy of ``teacher`` (e.g. from ``prune_copy``) in place, on the first
    ``images`` training images seen ``samples`` times, and make its masks permanent.

    - ``"fine-tune"``: cross-entropy on the labels.
    - ``"kd"``: match the original's softened outputs (``kd_loss`` with ``alpha=1``: no labels used).
    - ``"kd+features"``: also match the original's feature maps at ``stages`` (mean squared error,
      weight ``gamma``; FitNets' hints, Romero et al., ICLR 2015, without a regressor since the
      copy has the original's shapes). No labels used either.
    """
    from ..train import train
    validate.choice(method, RECOVER_METHODS, "recovery method")
    loss, taps = None, []
    if method != "fine-tune":
        teacher.eval()
        if method == "kd+features":
            taps = [FeatureTaps(model, stages), FeatureTaps(teacher, stages)]

        def loss(m, x, y):
            for t in taps:
                t.pop()
            logits = m(x)
            with torch.no_grad():
                t_logits = teacher(x)
            value = kd_loss(logits, t_logits, None, T, 1.0)
            if taps:
                s_f, t_f = taps[0].pop(), taps[1].pop()
                value = value + gamma * sum(F.mse_loss(a, b.detach()) for a, b in zip(s_f, t_f))
            return value, logits
    try:
        train(model, epochs=samples / images, lr=lr, limit=images, seed=seed, loss=loss, progress=progress,
              report=report, desc=method)
    finally:
        for t in taps:
            t.remove()
    return remove_masks_(model.eval())


def teacher_cache(teacher: nn.Module, budget: Budget = Budget(), stages: Sequence[int] = (),
                  progress=None) -> TeacherCache:
    """The teacher's outputs on the student's ``budget.images`` training images."""
    from ..data import arrays
    return TeacherCache(teacher, arrays("train")[0][:budget.images], stages=stages, progress=progress)
