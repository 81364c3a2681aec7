"""How the lab checks its own numbers on any machine: exact where the result is
deterministic, by value within a stated tolerance where it is not.

Floating-point training is reproducible only on the same kind of CPU (vector width, oneDNN
kernels and reduction order change the rounding, and a few hundred optimiser steps turn
that into a different model, much as another seed would). So the lab splits its numbers
in two:

- **Deterministic** (shapes, parameter counts, MACs and bytes of a given model, check
  messages, accuracy of a *shipped* checkpoint): printed plainly and compared as text by
  nbval.
- **Machine-dependent** (anything computed from a model trained or fine-tuned in this
  run): an ``Approx`` number. It prints with a leading ``≈`` (``≈92.50 %``), which
  ``notebooks/sanitize.cfg`` masks for nbval, and it is checked *by value* instead: every
  results-record row a notebook adds is compared, while the tests run, with the committed
  row (``Recorder`` does it when ``$LABKIT_REFERENCE`` names the committed folder), and a
  notebook's cross-check of a live result against a cache uses ``check_close``. Both apply
  the tolerances below and fail with one message that names the notebook, the point and
  both values.

``train.train`` marks the model it trains (``mark_trained``) and ``train.evaluate`` returns
an ``Approx`` accuracy for a marked model, so a notebook gets the right treatment without
thinking about it. Arithmetic on an ``Approx`` stays ``Approx`` (a drop in points computed
from a trained accuracy is machine-dependent too).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

MARK = "≈"


@dataclass(frozen=True)
class Tolerance:
    """How far a re-run may land from the committed value and still be the same result."""
    name: str
    accuracy_pt: float      # accuracy in percentage points
    count_rel: float        # sizes, MACs and counts: relative difference
    why: str


# Fixed weights evaluated on the 10,000 test images: only the last bits of the float sums
# differ between CPUs, which can flip the argmax of a handful of borderline images
# (0.01 pt each). Measured: the shipped checkpoints give identical accuracies under
# ATEN_CPU_CAPABILITY=default / DNNL_MAX_CPU_ISA=SSE41 and on an AVX-512 Xeon.
EVAL = Tolerance("eval", 0.05, 0.0, "fixed weights: at most 5 of 10,000 borderline test images may flip on another CPU")

# A model trained or fine-tuned in the run: another CPU's rounding acts like another seed.
# Measured seed-to-seed spread of the lab's trainings: std 0.29-0.40 pt for the 2,000-image
# students of notebook 05 (3 seeds, on two CPUs), up to 0.54 pt across its cached sweeps; the
# same runs on another CPU (an AVX-512 Xeon, an AVX-512 EPYC, ATEN_CPU_CAPABILITY=default)
# moved by 0.01-0.17 pt, the most for QAT at 2 bits. 1.0 pt is about 2-3 seed stds: wide
# enough for any CPU, narrow enough that a broken fine-tune (several points) fails. Counts
# taken from trained weights (nonzeros under a global threshold, the bytes of a sparse file)
# moved by at most 9 of 7,920 (0.1 %) per layer; 2 % covers them.
TRAINED = Tolerance("trained", 1.0, 0.02,
                    "trained in this run: another CPU acts like another seed (measured seed std <= 0.54 pt)")


class _Approx:
    """Mixin of ``ApproxFloat``/``ApproxInt``: prints with the ``≈`` mark; arithmetic keeps it."""
    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return MARK + (super().__format__(spec) if spec else super().__repr__())

    def __repr__(self) -> str:
        return MARK + super().__repr__()

    __str__ = __repr__


def _wrap(name: str):
    def op(self, *args):
        out = getattr(super(type(self), self), name)(*args)
        return approx(out) if isinstance(out, (int, float)) and not isinstance(out, bool) else out
    op.__name__ = name
    return op


_OPS = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
        "__floordiv__", "__rfloordiv__", "__mod__", "__pow__", "__rpow__", "__neg__", "__pos__", "__abs__", "__round__")


class ApproxFloat(_Approx, float):
    """A float that depends on this machine's arithmetic (see the module docstring)."""
    __slots__ = ()


class ApproxInt(_Approx, int):
    """An integer count taken from trained weights (see the module docstring)."""
    __slots__ = ()


for _cls in (ApproxFloat, ApproxInt):
    for _name in _OPS:
        setattr(_cls, _name, _wrap(_name))


def approx(x):
    """Mark a number (or each number of a list/tuple/dict's values) as machine-dependent."""
    if isinstance(x, _Approx):
        return x
    if isinstance(x, bool):
        raise TypeError("approx() takes a number, not a bool")
    if isinstance(x, int):
        return ApproxInt(x)
    if isinstance(x, float):
        return ApproxFloat(x)
    if isinstance(x, dict):
        return {k: approx(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(approx(v) for v in x)
    if hasattr(x, "item"):                           # a 0-d tensor or numpy scalar
        return approx(x.item())
    raise TypeError(f"approx() takes a number, got {type(x).__name__}")


def is_approx(x) -> bool:
    return isinstance(x, _Approx)


def mark_trained(model) -> None:
    """Note on ``model`` that its weights were trained in this process (``train.train`` calls
    this), so ``train.evaluate`` returns an ``Approx`` accuracy for it."""
    object.__setattr__(model, "labkit_trained", True)


def is_trained(model) -> bool:
    return bool(getattr(model, "labkit_trained", False))


def tolerance_of(value) -> Tolerance:
    """``TRAINED`` for an ``Approx`` value, else ``EVAL``."""
    return TRAINED if is_approx(value) else EVAL


def differs(value: float, reference: float, tol: Tolerance, kind: str = "accuracy") -> bool:
    """Whether ``value`` is outside ``tol`` of ``reference`` (kind: ``accuracy`` in points,
    ``count`` relative)."""
    value, reference = float(value), float(reference)
    if not (math.isfinite(value) and math.isfinite(reference)):
        return not value == reference
    if kind == "accuracy":
        return abs(value - reference) > tol.accuracy_pt + 1e-9
    return abs(value - reference) > tol.count_rel * max(abs(reference), 1.0) + 1e-9


def check_close(value, reference, what: str, kind: str = "accuracy", tol: Tolerance | None = None) -> None:
    """Raise ``AssertionError`` naming ``what`` and both values when ``value`` is outside the
    tolerance of ``reference`` (``TRAINED`` for an ``Approx`` value, else ``EVAL``)."""
    tol = tol or tolerance_of(value)
    if differs(value, reference, tol, kind):
        unit = " pt" if kind == "accuracy" else ""
        limit = f"±{tol.accuracy_pt:g} pt" if kind == "accuracy" else f"±{tol.count_rel:.0%}"
        raise AssertionError(f"{what}: {float(value):.4g} now vs {float(reference):.4g} expected "
                             f"({float(value) - float(reference):+.4g}{unit}), beyond the '{tol.name}' tolerance "
                             f"{limit} ({tol.why})")


def reference_dir() -> Path | None:
    """Folder of the committed records to compare this run's records with: ``$LABKIT_REFERENCE``
    (the test suite sets it to ``notebooks/results``); ``None`` outside the tests."""
    folder = os.environ.get("LABKIT_REFERENCE")
    return Path(folder) if folder else None


# measure -> how it is compared; latency is timing and is never compared across runs
ROW_MEASURES = {"accuracy_pct": "accuracy", "size_bytes": "count", "macs": "count",
                "baseline_accuracy_pct": "accuracy", "baseline_size_bytes": "count", "baseline_macs": "count"}


def compare_row(row: dict, reference: dict | None, tolerances: dict[str, Tolerance], where: str) -> None:
    """Check one new results-record row against the committed one at the same position.

    The point must be the same (technique, config, batch size: exactly); its measures must
    agree within ``tolerances[measure]``. Fails with one line naming ``where``, the point
    and both values."""
    point = f"{row['technique']} {row['config']} (batch {row['batch_size']})"
    if reference is None:
        raise AssertionError(f"{where}: the committed record has no row for {point}: re-execute the notebook "
                             f"(make notebooks) and commit notebooks/results/")
    same = (row["technique"], row["config"], row["batch_size"]) == \
        (reference["technique"], reference["config"], reference["batch_size"])
    if not same:
        raise AssertionError(f"{where}: this run recorded {point} where the committed record has "
                             f"{reference['technique']} {reference['config']} (batch {reference['batch_size']}): "
                             f"re-execute the notebook (make notebooks) and commit notebooks/results/")
    for measure, kind in ROW_MEASURES.items():
        check_close(row[measure], reference[measure], f"{where}, {point}, {measure}", kind, tolerances[measure])
    for measure, like in (("params", "macs"), ("baseline_params", "baseline_macs")):
        a, b = row.get(measure), reference.get(measure)     # None where no model was counted
        if (a is None) != (b is None):
            raise AssertionError(f"{where}, {point}, {measure}: {a} here, {b} in the committed record: "
                                 f"re-execute the notebook (make notebooks)")
        if a is not None:       # counted like the MACs (nonzero ones of a trained model may differ by CPU)
            check_close(a, b, f"{where}, {point}, {measure}", "count", tolerances[like])
