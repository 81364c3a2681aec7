"""Binarization (notebook 04): 1-bit weights and activations, really packed, really timed.
``from labkit import binarization`` is the notebook's one import.

Inside: ``binary`` (sign, the straight-through estimator, XNOR-Net's scale, TWN: the math) →
``layers`` (binarized Conv2d/Linear for training, the model rewrite) → ``train`` (from the
zoo's checkpoints) → ``storage`` (bits and scales as a ``labkit.size`` plan, the real export)
→ ``kernels`` (XNOR–popcount linear and conv in numpy, and the packed model that runs them)
→ ``sweep`` (the cached trainings) → ``widgets`` (the explorer).
"""
from .. import lazy
from .binary import SignSTE, TWN_DELTA, binarize, quantized, sign, ternarize, xnor_scale  # noqa: F401
from .layers import (TECHNIQUES, BinaryConv2d, BinaryLinear, binarize_, binarized, binary_layers,  # noqa: F401
                     describe, inner_layers, labels)
from .storage import export, layer_bytes, load_state, plan, size_bytes, stored_state  # noqa: F401
from .sweep import RUNS, architecture, headline, load_sweep, parse_run, retime, sweep  # noqa: F401
from .train import EPOCHS, LR, train_binarized  # noqa: F401

# The widgets load on first use, so importing this topic (a sweep recipe, a CLI) never pulls in
# ipywidgets: only the ui layer and the topics' widgets.py import it.
_WIDGETS = ("dashboard",)


__getattr__ = lazy.attributes(__name__, widgets=_WIDGETS)
