"""Checks for the notebooks' exercises, one module per notebook (``welcome``, ...).

Each ``check_*`` takes the student's function, tries it on many random cases drawn with a
seed the student does not see, compares with an independent reference (usually measured
on the real PyTorch layer or computed by the field's library), and raises
``AssertionError`` with a message that says which case failed and what to look at. On
success it prints one line (and returns nothing, so a notebook cell shows only that line). A stub that still raises
``NotImplementedError`` fails with a pointer to its cell. ``tests/test_checks*.py`` prove
every check passes the reference solution and fails a stub and plausible wrong answers.

Every ``check_*`` of every module here is importable as ``labkit.checks.check_*``.
"""
from __future__ import annotations

import importlib
import pkgutil

from ._common import call_student, hidden_rng  # noqa: F401

__all__ = []
for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        _mod = importlib.import_module(f"{__name__}.{_info.name}")
        for _name in dir(_mod):
            if _name.startswith("check_"):
                globals()[_name] = getattr(_mod, _name)
                __all__.append(_name)
