"""The teacher's outputs computed once (``TeacherCache``, looked up by image content) and
the training objectives built on them (``kd_objective``, ``attention_objective``; and
``smoothing_objective``, label smoothing, the teacher-free control) for
``labkit.train.train(model, loss=...)``: no new training loop.
"""
from __future__ import annotations

from typing import Callable, Sequence
import torch
from torch import Tensor, nn
from .. import validate
from .losses import FeatureTaps, _alpha, _temperature, attention_loss, attention_map, kd_loss


_KEY_RANGE = 2 ** 40          # key = sum(pixel * w), w < 2**40: no int64 overflow (784 * 255 * 2**40 < 2**63)


class TeacherCache:
    """A teacher's outputs for a fixed set of images, looked up by image content.

    ``TeacherCache(teacher, images_uint8)`` runs the teacher once (eval mode, no grad) on
    every image and stores its logits (and the attention maps of ``stages`` if given).
    ``cache.lookup(x)`` takes a batch of *normalised* images (as ``labkit.data`` yields
    them) and returns the stored rows: the outputs depend only on the image, so the key is
    the image itself (an exact integer hash of its 784 pixels). An image not in the cache
    raises a one-line error.
    """

    def __init__(self, teacher: nn.Module, images: Tensor, stages: Sequence[int] = (), batch_size: int = 500,
                 progress: Callable[[float, str], None] | None = None):
        from ..data import normalize
        validate.module(teacher, "teacher")
        if images.dtype != torch.uint8 or images.dim() != 3:
            raise TypeError(f"images must be uint8 (N, 28, 28) as labkit.data.arrays gives, got {images.dtype} {tuple(images.shape)}")
        device = next(teacher.parameters()).device
        teacher.eval()
        g = torch.Generator().manual_seed(0)
        self._w = torch.randint(0, _KEY_RANGE, (images[0].numel(),), generator=g, dtype=torch.int64)
        keys = self._keys_uint8(images)
        self.keys, order = keys.sort()
        dup = self.keys[1:] == self.keys[:-1]
        same_img = (images[order[1:]] == images[order[:-1]]).flatten(1).all(1)
        if bool((dup & ~same_img).any()):     # two different images with one key: astronomically rare
            raise RuntimeError("TeacherCache key collision: change the generator seed in labkit/distill.py")
        taps = FeatureTaps(teacher, stages) if stages else None
        logits, maps = [], [[] for _ in stages]
        try:
            with torch.inference_mode():
                for start in range(0, len(images), batch_size):
                    x = normalize(images[start:start + batch_size]).to(device)
                    logits.append(teacher(x).float().cpu())
                    if taps:
                        for i, f in enumerate(taps.pop()):
                            maps[i].append(attention_map(f).cpu())
                    if progress:
                        progress(min(start + batch_size, len(images)) / len(images), "teacher outputs")
        finally:
            if taps:
                taps.remove()
        self.logits = torch.cat(logits)[order]
        self.maps = [torch.cat(m)[order] for m in maps]
        self.num_images = len(images)

    def _keys_uint8(self, images: Tensor) -> Tensor:
        return images.reshape(len(images), -1).to(torch.int64) @ self._w

    def _index(self, x: Tensor) -> Tensor:
        from ..data import MEAN, STD
        pixels = torch.round((x.detach().float().cpu() * STD + MEAN) * 255).clamp(0, 255)
        keys = pixels.reshape(len(x), -1).to(torch.int64) @ self._w
        idx = torch.searchsorted(self.keys, keys).clamp(max=len(self.keys) - 1)
        if not bool((self.keys[idx] == keys).all()):
            raise KeyError("an image of this batch is not in the teacher cache: build the cache on the images "
                           "you train on (e.g. limit=N uses the first N training images)")
        return idx

    def lookup(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """(teacher logits, [teacher attention maps]) for a batch of normalised images."""
        idx = self._index(x)
        return self.logits[idx].to(x.device), [m[idx].to(x.device) for m in self.maps]

    def __len__(self) -> int:
        return self.num_images


def kd_objective(cache: TeacherCache, T: float = 4.0, alpha: float = 0.9) -> Callable:
    """``loss(model, x, y) -> (loss, logits)``: Hinton's KD loss against the cached teacher,
    for ``labkit.train.train(model, loss=...)``."""
    T, alpha = _temperature(T), _alpha(alpha)

    def loss(model, x, y):
        logits = model(x)
        t_logits, _ = cache.lookup(x)
        return kd_loss(logits, t_logits, y, T, alpha), logits
    return loss


def smoothing_objective(epsilon: float = 0.1) -> Callable:
    """``loss(model, x, y) -> (loss, logits)``: cross-entropy against labels smoothed by
    ``epsilon`` (Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016): the target
    is ``1 - epsilon`` on the true class plus ``epsilon / C`` on every class. The control for
    KD: soft targets without a teacher, the same for every image (Mueller, Kornblith & Hinton,
    "When Does Label Smoothing Help?", NeurIPS 2019)."""
    import torch.nn.functional as F
    eps = _epsilon(epsilon)

    def loss(model, x, y):
        logits = model(x)
        return F.cross_entropy(logits, y, label_smoothing=eps), logits
    return loss


def _epsilon(epsilon) -> float:
    try:
        e = float(epsilon)
    except (TypeError, ValueError):
        raise TypeError(f"label_smoothing must be a number in [0, 1), got {epsilon!r}: e.g. 0.1") from None
    if not 0.0 <= e < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {epsilon!r}: the mass spread uniformly over the "
                         f"classes, e.g. 0.1")
    return e


def attention_objective(cache: TeacherCache, taps: FeatureTaps, beta: float = 1000.0, T: float = 4.0,
                        alpha: float = 0.0) -> Callable:
    """``loss(model, x, y)``: ``kd_loss(T, alpha) + beta / 2 * attention_loss`` with the
    student's stages read by ``taps`` (alpha=0: hard labels plus attention transfer alone;
    Zagoruyko & Komodakis use beta=1000)."""
    T, alpha = _temperature(T), _alpha(alpha)
    if len(taps._hooks) != len(cache.maps):
        raise ValueError(f"the student has {len(taps._hooks)} tapped stages but the cache holds {len(cache.maps)} "
                         f"teacher maps: build TeacherCache(..., stages=...) with as many stages")

    def loss(model, x, y):
        taps.pop()
        logits = model(x)
        s_maps = [attention_map(f) for f in taps.pop()]
        t_logits, t_maps = cache.lookup(x)
        return kd_loss(logits, t_logits, y, T, alpha) + beta / 2 * attention_loss(s_maps, t_maps), logits
    return loss
