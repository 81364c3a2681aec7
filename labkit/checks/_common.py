"""Shared by the check modules: the hidden seed and calling the student's function."""
from __future__ import annotations

import random

_SEED = 0x5EED_C0DE   # hidden from the notebooks: the cases are not shown in advance


def hidden_rng(salt: int = 0) -> random.Random:
    """A random generator the student does not see the seed of (one stream per check)."""
    return random.Random(_SEED + salt)


def call_student(fn, name: str, *args, **kwargs):
    """Call the student's function; a leftover stub becomes a helpful AssertionError."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise AssertionError(f"{name} is not implemented yet: replace `raise NotImplementedError()` "
                             f"in its exercise cell with your code, then run the cell again") from None
