"""Corruptions made in labkit (after Hendrycks & Dietterich, "Benchmarking Neural Network
Robustness to Common Corruptions and Perturbations", ICLR 2019, scaled to 28x28 grey images).

Pure tensor functions on images in [0, 1] of shape (N, 28, 28) or (N, 1, 28, 28): the same
``seed`` gives the same corrupted images on any machine (the random parts are drawn with a
``torch.Generator`` on the CPU). ``severity`` is 1 (mild) ... 5 (strong), as in ImageNet-C.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

KINDS = ("noise", "blur", "contrast", "rotation", "occlusion")
SEVERITIES = (1, 2, 3, 4, 5)
# one value per severity 1..5
LEVELS = {
    "noise": (0.04, 0.08, 0.12, 0.18, 0.26),       # std of additive Gaussian noise (pixels in [0, 1])
    "blur": (0.5, 0.75, 1.0, 1.5, 2.0),             # std of the Gaussian blur kernel, in pixels
    "contrast": (0.7, 0.5, 0.35, 0.25, 0.15),       # pixels pulled towards the image mean: c * (x - mean) + mean
    "rotation": (8.0, 16.0, 24.0, 32.0, 45.0),      # degrees, sign drawn per image
    "occlusion": (6, 8, 10, 12, 14),                # side of a grey square (0.5) placed at random on the image
}


def _check(kind: str, severity: int) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown corruption {kind!r}: use one of {', '.join(KINDS)}")
    if isinstance(severity, bool) or severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}: 1 is mild, 5 strong")


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = max(1, math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = (k / k.sum()).to(x)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))     # (N, 1, H, W)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))


def _rotate(x: torch.Tensor, degrees: float, g: torch.Generator) -> torch.Tensor:
    sign = torch.randint(0, 2, (len(x),), generator=g).float() * 2 - 1
    a = (sign * math.radians(degrees)).to(x)
    cos, sin = torch.cos(a), torch.sin(a)
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(a)], 1),
                         torch.stack([sin, cos, torch.zeros_like(a)], 1)], 1)                # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _occlude(x: torch.Tensor, side: int, g: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    top = torch.randint(0, h - side + 1, (n,), generator=g)
    left = torch.randint(0, w - side + 1, (n,), generator=g)
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    box = ((rows >= top.view(n, 1, 1)) & (rows < (top + side).view(n, 1, 1)) &
           (cols >= left.view(n, 1, 1)) & (cols < (left + side).view(n, 1, 1))).unsqueeze(1)   # (N, 1, H, W)
    return torch.where(box.to(x.device), torch.full_like(x, 0.5), x)


def corrupt(images: torch.Tensor, kind: str, severity: int, seed: int = 0) -> torch.Tensor:
    """A corrupted copy of ``images`` (float in [0, 1], (N, 28, 28) or (N, 1, 28, 28); uint8 is
    scaled by 1/255), same shape, clipped to [0, 1]. ``kind`` one of ``KINDS``; deterministic given
    ``seed``."""
    _check(kind, severity)
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    squeeze = images.dim() == 3
    x = images.unsqueeze(1) if squeeze else images
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"images must be (N, 28, 28) or (N, 1, 28, 28), got {tuple(images.shape)}")
    x = x.float()
    g = torch.Generator().manual_seed(int(seed))
    level = LEVELS[kind][severity - 1]
    if kind == "noise":
        out = x + level * torch.randn(x.shape, generator=g).to(x)
    elif kind == "blur":
        out = _blur(x, level)
    elif kind == "contrast":
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        out = level * (x - mean) + mean
    elif kind == "rotation":
        out = _rotate(x, level, g)
    else:
        out = _occlude(x, int(level), g)
    out = out.clamp(0.0, 1.0)
    return out.squeeze(1) if squeeze else out


def corrupted_batches(images: torch.Tensor, kind: str, severity: int, labels: torch.Tensor, seed: int = 0,
                      batch_size: int = 1000, device=None) -> list:
    """``corrupt`` then standardise like ``labkit.data.normalize``: (x, y) batches a classifier reads."""
    from ..data import MEAN, STD
    x = (corrupt(images, kind, severity, seed).reshape(len(images), 1, 28, 28) - MEAN) / STD
    return [(x[i:i + batch_size].to(device or x.device), labels[i:i + batch_size].to(device or x.device))
            for i in range(0, len(x), batch_size)]
