"""The lab's models for 28x28 Fashion-MNIST: LeNet-5, a baseline CNN, a compact net.

``compact_net`` is built from a block-config table, the format NAS searches later:
each row is ``(block, expand, out_channels, repeats, stride, kernel)``, in the spirit of
torchvision's ``mobilenetv3.py`` tables.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .blocks import BLOCKS, conv_bn_act, round_channels

NUM_CLASSES = 10


def lenet5(num_classes: int = NUM_CLASSES) -> nn.Sequential:
    """LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling; 61,706 parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),     # 6 x 14 x 14
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),               # 16 x 5 x 5
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )


def baseline_cnn(num_classes: int = NUM_CLASSES, width: int = 32) -> nn.Sequential:
    """Three 3x3 conv-BN-ReLU-pool stages (width, 2w, 4w) and a two-layer classifier.

    The reference model the compression notebooks start from (390,410 parameters at w=32).
    """
    w = width
    return nn.Sequential(
        nn.Conv2d(1, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),              # w x 14 x 14
        nn.Conv2d(w, 2 * w, 3, padding=1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),      # 2w x 7 x 7
        nn.Conv2d(2 * w, 4 * w, 3, padding=1, bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(), nn.MaxPool2d(2),  # 4w x 3 x 3
        nn.Flatten(),
        nn.Linear(4 * w * 3 * 3, 256), nn.ReLU(),
        nn.Linear(256, num_classes),
    )


# (block, expand, out_channels, repeats, stride, kernel)
COMPACT_CONFIG: list[tuple[str, int, int, int, int, int]] = [
    ("ds", 1, 16, 1, 1, 3),     # 14 x 14 (the stem already halved 28 x 28)
    ("ir", 4, 24, 2, 2, 3),     # 7 x 7
    ("ir", 4, 40, 2, 1, 3),     # 7 x 7
    ("ir", 4, 64, 1, 2, 3),     # 4 x 4
]


class CompactNet(nn.Module):
    """A MobileNet-style network for 28x28 inputs, built from a block-config table.

    Args:
        config: rows ``(block, expand, out_channels, repeats, stride, kernel)``; ``block``
            names an entry of ``labkit.blocks.BLOCKS``.
        width: width multiplier applied to every channel count (MobileNetV1's alpha).
        stem: channels of the stem 3x3 convolution (before ``width``).
        stem_stride: stride of the stem (2: the blocks start at 14 x 14, as MobileNets downsample early).
        head: channels of the last 1x1 convolution before pooling (before ``width``).
    """

    def __init__(self, config: Sequence[Sequence] = COMPACT_CONFIG, width: float = 1.0,
                 stem: int = 16, head: int = 128, stem_stride: int = 2, num_classes: int = NUM_CLASSES):
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be > 0, got {width}: e.g. width=0.5 for half the channels")
        for row in config:
            if len(row) != 6 or row[0] not in BLOCKS:
                raise ValueError(f"bad config row {row!r}: use (block, expand, out_channels, repeats, stride, kernel) "
                                 f"with block one of {sorted(BLOCKS)}")
        self.config, self.width = [tuple(r) for r in config], width
        c = round_channels(stem * width)
        layers: list[nn.Module] = [conv_bn_act(1, c, 3, stem_stride)]
        for block, expand, out, repeats, stride, kernel in self.config:
            out_c = round_channels(out * width)
            for i in range(repeats):
                layers.append(BLOCKS[block](c, out_c, stride=stride if i == 0 else 1, expand=expand, kernel=kernel))
                c = out_c
        head_c = round_channels(head * max(1.0, width))
        layers.append(conv_bn_act(c, head_c, 1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(head_c, num_classes)

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


def compact_net(width: float = 1.0, config: Sequence[Sequence] = COMPACT_CONFIG, **kw) -> CompactNet:
    """The compact baseline: ``CompactNet(COMPACT_CONFIG, width)``."""
    return CompactNet(config, width, **kw)


class VAE(nn.Module):
    """A small variational autoencoder for 28x28 images in [0, 1] (Kingma & Welling, "Auto-Encoding
    Variational Bayes", ICLR 2014): an MLP encoder to a ``latent``-dimensional Gaussian, and the
    generator, ``decoder``: ``latent -> hidden -> 784`` pixel logits (Bernoulli likelihood).
    At ``latent=16, hidden=256``: 209,184 encoder and 205,840 decoder parameters."""

    def __init__(self, latent: int = 16, hidden: int = 256):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * latent))                   # (B, 2 * latent): mean, log-variance
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 28 * 28))  # (B, 784) logits

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def forward(self, x):
        """``(pixel logits (B, 784), mu, logvar)``; samples z in training mode, uses the mean in eval."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decoder(z), mu, logvar


def vae(latent: int = 16, hidden: int = 256) -> VAE:
    """The lab's generator (notebook 10): ``VAE(latent, hidden)``."""
    return VAE(latent, hidden)


MODELS = {"lenet5": lenet5, "cnn": baseline_cnn, "compact": compact_net, "vae": vae}


def build(name: str, **kwargs) -> nn.Module:
    """A model by name: ``"lenet5"``, ``"cnn"``, ``"compact"`` or ``"vae"`` (kwargs go to its builder)."""
    from .validate import choice
    return MODELS[choice(name, MODELS, "model")](**kwargs)
