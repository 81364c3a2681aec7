"""Other number formats than linear int8 per channel: half-precision floats and per-group int4.

- ``fp16`` (IEEE half: 5 exponent bits, 10 mantissa bits) and ``bf16`` (bfloat16: fp32's 8
  exponent bits, 7 mantissa bits): 2 bytes a value, no calibration; ``stored_as`` rounds a
  model's tensors to that type.
- **per-group int4** (the weight-only format of GPTQ, AWQ and llama.cpp's ``Q4``): each run of
  ``group`` consecutive weights along the input dimension gets its own scale, stored in fp16, so
  one outlier spoils only its group. ``group_quantize`` simulates it; ``group_export`` writes
  the real bytes (the codes packed ``bits`` to a value, then the fp16 scales), and
  ``group_bytes`` counts a model stored that way (vectors in fp32, as ``labkit.size`` does).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from ..layers import weighted_layers
from ..packing import _pack

FLOAT_TYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def stored_as(model: nn.Module, fmt: str) -> nn.Module:
    """A copy of ``model`` whose float tensors were stored in ``fmt`` (``"fp16"`` or ``"bf16"``) and
    read back: the rounding a half-precision file applies, computed in fp32 (this CPU has no fast
    fp16 arithmetic: a model *run* in fp16 here is emulated and many times slower)."""
    if fmt not in FLOAT_TYPES:
        raise ValueError(f"fmt must be one of {', '.join(FLOAT_TYPES)}, got {fmt!r}")
    m = copy.deepcopy(model)
    with torch.no_grad():
        for t in m.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.to(FLOAT_TYPES[fmt]).float())
    return m


def _groups(w: torch.Tensor, group: int) -> tuple[torch.Tensor, int]:
    """``(out, n_groups, group)`` rows of ``w`` (zero-padded at the end of each row) and the row length."""
    if group < 1:
        raise ValueError(f"group must be a positive number of weights, got {group!r}: e.g. group=32")
    rows = w.detach().float().reshape(w.shape[0], -1)
    n = rows.shape[1]
    pad = -n % group                                  # the last group of a row may be shorter
    return torch.nn.functional.pad(rows, (0, pad)).reshape(rows.shape[0], -1, group), n


def group_codes(w: torch.Tensor, bits: int = 4, group: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric ``bits``-bit codes ``(out, row)`` (offset to unsigned: ``q + qmax``) and the fp16
    scale of each group ``(out, n_groups)``; a row's last group may be shorter."""
    qmax = 2 ** (bits - 1) - 1
    g, n = _groups(w, group)
    scale = (g.abs().amax(-1, keepdim=True) / qmax).clamp_min(1e-12).half()
    q = torch.round(g / scale.float()).clamp(-qmax, qmax)
    codes = (q + qmax).to(torch.int64).reshape(w.shape[0], -1)[:, :n]
    return codes, scale.squeeze(-1)


def group_quantize(w: torch.Tensor, bits: int = 4, group: int = 32) -> torch.Tensor:
    """``w`` quantized per group and dequantized (float32, same shape)."""
    codes, scale = group_codes(w, bits, group)
    qmax = 2 ** (bits - 1) - 1
    per_value = scale.float().repeat_interleave(group, dim=1)[:, :codes.shape[1]]
    return ((codes - qmax).float() * per_value).reshape(w.shape)


def group_export(w: torch.Tensor, bits: int = 4, group: int = 32) -> bytes:
    """The stored bytes of one weight: its packed codes, then the fp16 scales."""
    codes, scale = group_codes(w, bits, group)
    return _pack(codes.numpy().reshape(-1), bits).tobytes() + scale.numpy().astype("<f2").tobytes()


def group_quantized_model(model: nn.Module, bits: int = 4, group: int = 32) -> nn.Module:
    """A copy of ``model`` with every Conv/Linear weight quantized per group (simulated in fp32)."""
    m = copy.deepcopy(model)
    with torch.no_grad():
        for layer in weighted_layers(m).values():
            layer.weight.copy_(group_quantize(layer.weight, bits, group))
    return m


def group_bytes(model: nn.Module, bits: int = 4, group: int = 32) -> int:
    """Bytes of ``model`` with its Conv/Linear weights in per-group int``bits`` (real packed bytes)
    and every other float tensor in fp32."""
    weights = {f"{n}.weight": layer.weight for n, layer in weighted_layers(model).items()}
    total = sum(len(group_export(w, bits, group)) for w in weights.values())
    others = {k: v for k, v in model.state_dict().items() if k not in weights and v.is_floating_point()}
    return total + sum(4 * v.numel() for v in others.values())
