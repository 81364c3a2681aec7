"""Argument checks shared by every module: one-line errors that name the fix.

Each function returns the validated value (converted where sensible) or raises
``ValueError`` / ``TypeError`` whose message says what was wrong and what to pass instead.
"""
from __future__ import annotations

import math
from typing import Iterable

from torch import nn


def fraction(value, name: str = "sparsity", meaning: str = "the fraction of zeros", example: float = 0.9) -> float:
    """A fraction in [0, 1) (``name`` is what the caller calls it, ``meaning`` what it counts)."""
    try:
        s = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number in [0, 1), got {value!r}: pass {meaning}, e.g. {example:g}") from None
    if math.isnan(s) or not 0.0 <= s < 1.0:
        hint = f" (did you mean {s / 100:g}?)" if 1.0 < s < 100.0 else ""
        raise ValueError(f"{name} must be in [0, 1), got {value!r}: pass {meaning}, e.g. {example:g} for "
                         f"{example:.0%}{hint}")
    return s


def sparsity(value) -> float:
    """A fraction of zeros in [0, 1). 90% sparsity is ``0.9``; 1.0 would delete the layer."""
    return fraction(value)


def bits(value) -> int:
    """Bits per value, an integer from 1 to 32."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise TypeError(f"bits must be a whole number from 1 to 32, got {value!r}: e.g. bits=8")
    b = int(value)
    if not 1 <= b <= 32:
        raise ValueError(f"bits must be from 1 to 32, got {b}: e.g. bits=8 for int8, bits=1 for binary")
    return b


def module(value, name: str = "model") -> nn.Module:
    """An ``nn.Module`` instance (not its class, not a state_dict)."""
    if isinstance(value, nn.Module):
        return value
    if isinstance(value, type) and issubclass(value, nn.Module):
        raise TypeError(f"{name} must be an nn.Module instance, got the class {value.__name__}: call it, e.g. {value.__name__}()")
    if isinstance(value, dict):
        raise TypeError(f"{name} must be an nn.Module, got a dict (a state_dict?): build the model and call model.load_state_dict(...) first")
    raise TypeError(f"{name} must be an nn.Module, got {type(value).__name__}: pass a torch.nn.Module such as labkit.models.lenet5()")


def choice(value, choices: Iterable[str], what: str) -> str:
    """One of a fixed set of names (a split, a storage format, a runtime...)."""
    options = list(choices)
    if value not in options:
        raise ValueError(f"unknown {what} {value!r}: use one of {', '.join(repr(c) for c in options)}")
    return value


_SCALARS = (str, int, float, bool, type(None))


def flat(value) -> bool:
    """A JSON scalar, or a flat list or dict (string keys) of them: what a config value or a
    cached sweep's setting may be, the same in records and caches."""
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, _SCALARS) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and isinstance(v, _SCALARS) for k, v in value.items())
    return False
