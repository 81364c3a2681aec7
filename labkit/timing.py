"""The lab's one timing protocol: every latency a notebook, a sweep or a widget shows is timed here.

A forward pass of a small model on a laptop CPU lasts about a millisecond, and the same model reads
1.5x apart in two processes a minute apart (the host's own drift), and up to 4x apart when another job
shares the cores. So the lab never compares absolute times from different runs: it compares models
timed *together*, in one run, and says how sure it is.

``compare(models, input_size)`` does, for several models on the same input:

1. **warm-up**: each model runs ``warmup`` times; from that, how many back-to-back calls (``number``)
   one sample needs to last at least ``min_sample_s`` (microsecond-scale models are timed fairly);
2. **rounds**: in each of ``rounds`` rounds every model gives one sample, in an order shuffled anew
   each round (seeded: the same order on every machine), so neither drift nor the position in the
   round favours one model;
3. **per model** the median and the interquartile range of its samples (``Latency``);
4. **per pair** the speedup from the *paired* per-round ratios (``t_reference / t_model`` in the same
   round: drift between rounds cancels), their median, and a 95 % bootstrap interval of that median
   (``Ratio``);
5. **an A/A control**: the reference model is timed twice, as two entries (``control``). Their ratio
   should be 1; its interval is the run's **noise floor** (``Timing.floor``). A speedup whose interval
   contains 1, or lies inside the A/A band, is *within noise* and printed as "≈1 (within noise)",
   never as faster or slower (``Timing.speedup_text``).
6. **the busy-machine guard**: when the floor is wider than ``BOUND`` (±10 %: on a quiet machine the
   lab's tables measured at most a few per cent, see the README's Measuring section), the run was not
   fit to compare anything: ``Timing.guard`` prints one line saying so, and under ``make notebooks``
   (``LABKIT_TIMING_STRICT=1``) raises, naming the notebook and the table, unless
   ``LABKIT_TIMING_OVERRIDE`` gives a reason (which is then written into the records).

``machine()`` says where a run was timed (CPU model, AVX2 / AVX-512 / VNNI, threads): the records keep it.
"""
from __future__ import annotations

import math
import os
import platform
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from . import validate

BOUND = 0.10            # the busy-machine guard: an A/A noise floor wider than ±10 % is not fit to compare
ROUNDS = 30
WARMUP = 5
MIN_SAMPLE_S = 0.002
CONFIDENCE = 0.95
BOOTSTRAP = 2000        # resamples of the per-round ratios for each interval
SEED = 0                # the shuffled order of the models in each round, and the bootstrap
TARGET = BOUND / 2      # rounds are added until the noise floor is this narrow (or the budget is spent)
MAX_ROUNDS = 200
BUDGET_S = 12.0         # seconds of timing per table for up to MODELS_PER_BUDGET models (then the floor is what it is)
MODELS_PER_BUDGET = 4   # a wider table gets BUDGET_S per this many models: each round times every model
EXTEND_ENV = "LABKIT_TIMING_EXTEND"
CELL_WIDTH = 21         # "12.34x [11.80-13.05]" and "≈1 (within noise)" fit: a table's layout stays put
AA_SUFFIX = " (A/A)"
STRICT_ENV = "LABKIT_TIMING_STRICT"
OVERRIDE_ENV = "LABKIT_TIMING_OVERRIDE"


class BusyMachine(RuntimeError):
    """A timing table whose A/A noise floor is wider than ``BOUND`` under ``LABKIT_TIMING_STRICT``."""


@dataclass
class Latency:
    """One model's timing in one run: median and spread in milliseconds per forward pass."""
    median_ms: float
    p25_ms: float
    p75_ms: float
    min_ms: float
    repeats: int
    batch_size: int
    threads: int
    device: str

    @property
    def spread_ms(self) -> float:   # interquartile range
        return self.p75_ms - self.p25_ms

    def __str__(self) -> str:
        return (f"{self.median_ms:.3f} ms (IQR {self.p25_ms:.3f}-{self.p75_ms:.3f}, n={self.repeats}, "
                f"batch {self.batch_size}, {self.threads} threads, {self.device})")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Ratio:
    """A measured speedup: the median of the paired per-round ratios ``t_reference / t_model``
    (> 1: the model is faster) and its 95 % bootstrap interval ``[lo, hi]`` over ``n`` rounds."""
    value: float
    lo: float
    hi: float
    n: int

    def contains_one(self) -> bool:
        return self.lo <= 1.0 <= self.hi

    def __str__(self) -> str:
        return f"{self.value:.2f}x [{self.lo:.2f}-{self.hi:.2f}]"


def summarize(samples: list[float], batch_size: int, device: str) -> Latency:
    """Median, quartiles and minimum of per-call ``samples`` (seconds) as a ``Latency`` in ms."""
    q = statistics.quantiles(samples, n=4) if len(samples) > 1 else [samples[0]] * 3
    return Latency(statistics.median(samples) * 1e3, q[0] * 1e3, q[2] * 1e3, min(samples) * 1e3,
                   len(samples), batch_size, torch.get_num_threads(), device)


def paired_ratio(reference: list[float], model: list[float], seed: int = SEED, resamples: int = BOOTSTRAP,
                 confidence: float = CONFIDENCE) -> Ratio:
    """The speedup of ``model`` over ``reference`` from samples taken in the same rounds (paired):
    the median of the per-round ratios, and a percentile bootstrap interval of that median."""
    if len(reference) != len(model) or not reference:
        raise ValueError(f"paired samples need the same number of rounds (> 0), got {len(reference)} and {len(model)}")
    r = np.asarray(reference, dtype=np.float64) / np.asarray(model, dtype=np.float64)
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError("per-round ratios must be finite and > 0: every sample needs a positive duration")
    value = float(np.median(r))
    if len(r) == 1:
        return Ratio(value, value, value, 1)
    rng = np.random.default_rng(seed)
    medians = np.median(r[rng.integers(0, len(r), size=(resamples, len(r)))], axis=1)
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(medians, [tail, 1 - tail])
    return Ratio(value, float(lo), float(hi), len(r))


def _flags() -> list[str]:
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return []
    line = next((ln for ln in text.splitlines() if ln.startswith(("flags", "Features"))), "")
    have = set(line.split(":", 1)[-1].split())
    wanted = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_vnni": "AVX-512 VNNI", "avx_vnni": "AVX-VNNI",
              "amx_int8": "AMX-INT8", "asimddp": "ARM dot product"}
    return [name for flag, name in wanted.items() if flag in have]


def _cpu_model() -> str:
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


_MACHINE: dict | None = None


def machine() -> dict:
    """Where this run times: ``cpu`` (model name), ``isa`` (the instruction sets that decide the
    kernels: AVX2, AVX-512, VNNI), ``threads`` (torch's intra-op threads now), and, when set, the
    emulation variables (``ATEN_CPU_CAPABILITY``, ``DNNL_MAX_CPU_ISA``)."""
    global _MACHINE
    if _MACHINE is None:
        _MACHINE = {"cpu": _cpu_model(), "isa": _flags()}
    emulated = {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA") if os.environ.get(k)}
    return {**_MACHINE, "threads": torch.get_num_threads(), **({"emulated": emulated} if emulated else {})}


class Timing(Mapping):
    """The result of one timing run: ``{name: Latency}`` (the A/A control is not one of the keys),
    the per-round samples, the noise floor and the ratios between any two models of the run."""

    def __init__(self, samples: dict[str, list[float]], control: str | None, batch_size: int, device: str,
                 table: str | None = None, order: list[list[str]] | None = None):
        self.samples = samples
        self.control = control
        self.table = table
        self.order = order or []
        self.batch_size = batch_size
        self.device = device
        self.machine = machine()
        self._latency = {k: summarize(v, batch_size, device) for k, v in samples.items()}
        self.names = [k for k in samples if k != self.aa_name]

    # the mapping: {name: Latency} of the models passed in
    def __getitem__(self, name: str) -> Latency:
        if name not in self.names:
            raise KeyError(name)
        return self._latency[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def aa_name(self) -> str | None:
        return None if self.control is None else self.control + AA_SUFFIX

    @property
    def rounds(self) -> int:
        return len(next(iter(self.samples.values())))

    def ratio(self, model: str, reference: str | None = None) -> Ratio:
        """The speedup of ``model`` over ``reference`` (default: the control) measured in this run."""
        reference = reference or self.control
        if reference is None:
            raise ValueError("name the reference: this run has no control (compare(..., control=name))")
        for n in (model, reference):
            if n not in self.samples:
                raise ValueError(f"{n!r} was not timed in this run: use one of {', '.join(map(repr, self.names))}")
        return paired_ratio(self.samples[reference], self.samples[model])

    @property
    def aa(self) -> Ratio | None:
        """The A/A control's ratio (the reference against itself), or ``None`` without a control."""
        return None if self.control is None else paired_ratio(self.samples[self.control], self.samples[self.aa_name])

    @property
    def floor(self) -> float | None:
        """The run's noise floor: the widest distance from 1 of the A/A ratio's interval, as a
        fraction (0.03: ±3 %); ``None`` without a control."""
        aa = self.aa
        if aa is None:
            return None
        return max(aa.hi - 1.0, 1.0 / aa.lo - 1.0, 1.0 - aa.lo, 0.0)

    def band(self) -> tuple[float, float]:
        """The A/A band ``[1 / (1 + floor), 1 + floor]`` (``(1, 1)`` without a control)."""
        f = self.floor or 0.0
        return 1.0 / (1.0 + f), 1.0 + f

    def within_noise(self, model: str, reference: str | None = None) -> bool:
        """True when the speedup's interval contains 1 or lies inside the A/A band."""
        r = self.ratio(model, reference)
        lo, hi = self.band()
        return r.contains_one() or (lo <= r.lo and r.hi <= hi)

    def verdict(self, model: str, reference: str | None = None) -> str:
        """``"faster"``, ``"slower"`` or ``"within noise"``: ``model`` against ``reference``."""
        if self.within_noise(model, reference):
            return "within noise"
        return "faster" if self.ratio(model, reference).value > 1 else "slower"

    def speedup_text(self, model: str, reference: str | None = None) -> str:
        """``"1.92x [1.80-2.05]"`` (the median of the paired ratios and its 95 % interval), or
        ``"≈1 (within noise)"`` where the interval contains 1 or lies inside the A/A band."""
        reference = reference or self.control
        if model == reference:
            return "1 (reference)"
        if self.within_noise(model, reference):
            return "≈1 (within noise)"
        return str(self.ratio(model, reference))

    def cell(self, model: str, reference: str | None = None) -> str:
        """``speedup_text`` right-aligned to ``CELL_WIDTH``: a table column whose width does not move
        with the verdict (nbval masks the cell, not the table's layout)."""
        return self.speedup_text(model, reference).rjust(CELL_WIDTH)

    def speedup(self, model: str, reference: str | None = None) -> dict:
        """The speedup as a row or a cache keeps it: ``{"value", "lo", "hi", "within_noise",
        "noise_floor"}`` (rounded to 4 decimals)."""
        r = self.ratio(model, reference)
        return {"value": round(r.value, 4), "lo": round(r.lo, 4), "hi": round(r.hi, 4),
                "within_noise": bool(self.within_noise(model, reference)),
                "noise_floor": None if self.floor is None else round(self.floor, 4)}

    @property
    def busy(self) -> bool:
        f = self.floor
        return f is not None and f > BOUND

    def floor_line(self) -> str:
        """One line for under a table: the noise floor and where it was measured."""
        if self.control is None:
            return "no A/A control in this run: its speedups have no noise floor"
        m = self.machine
        return (f"A/A noise floor: ±{100 * self.floor:.1f} % ({self.control!r} timed twice, {self.rounds} shuffled rounds, "
                f"{m['threads']} threads, {m['cpu']}{', ' + ' '.join(m['isa']) if m['isa'] else ''})")

    def guard(self) -> str | None:
        """The busy-machine guard: ``None`` on a quiet run; otherwise the one line that says the
        run is not fit to compare (and, under ``LABKIT_TIMING_STRICT=1`` without
        ``LABKIT_TIMING_OVERRIDE``, raises ``BusyMachine`` naming the notebook and the table)."""
        if not self.busy:
            return None
        where = f"{os.environ.get('LABKIT_NOTEBOOK') or 'this run'}, table {self.table or ', '.join(self.names)}"
        line = (f"busy machine: the A/A noise floor is ±{100 * self.floor:.0f} %, wider than the ±{100 * BOUND:.0f} % "
                f"bound ({where}); close other jobs and re-run before comparing these latencies")
        if os.environ.get(STRICT_ENV) == "1" and not os.environ.get(OVERRIDE_ENV):
            raise BusyMachine(line + f" (or set {OVERRIDE_ENV}='reason' for a machine that is never quiet)")
        return line

    def record(self, model: str) -> dict:
        """What a results row keeps of this run for ``model``: its IQR, the rounds, the noise floor,
        where it was timed (``machine()``) and, on a busy run, the override's reason."""
        lat = self._latency[model]
        out = {"latency_iqr_ms": round(lat.spread_ms, 6), "rounds": self.rounds,
               "noise_floor": None if self.floor is None else round(self.floor, 4), **self.machine}
        if os.environ.get(OVERRIDE_ENV) and self.busy:
            out["override"] = os.environ[OVERRIDE_ENV]
        return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def checked_forward(model: nn.Module, x: torch.Tensor):
    """``model(x)``, or a one-line error naming the input shape the model cannot take."""
    try:
        return model(x)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise ValueError(f"the model cannot take an input of shape {tuple(x.shape)} ({first}): "
                         f"pass input_size=(batch, channels, height, width) that it accepts, e.g. (1, 1, 28, 28)") from None


def _device_of(models: dict) -> torch.device:
    for m in models.values():
        p = next(m.parameters(), None) if isinstance(m, nn.Module) else None
        if p is not None:
            return p.device
    return torch.device("cpu")


def _twin(model: nn.Module) -> nn.Module:
    """A second copy of the control for the A/A entry: a copy, not the same object, so the control
    does not find its own weights in the cache when its two entries run back to back (that made the
    baseline read ~3 % faster than an identical copy); a runtime that cannot be copied (an ONNX
    Runtime session) is timed as the same object."""
    import copy
    try:
        return copy.deepcopy(model)
    except Exception:           # noqa: BLE001 - any model that cannot be copied is timed twice as itself
        return model


def _extend_default() -> bool:
    return os.environ.get(EXTEND_ENV, "1") != "0"


def compare(models: dict[str, nn.Module], input_size=(1, 1, 28, 28), rounds: int = ROUNDS, warmup: int = WARMUP,
            min_sample_s: float = MIN_SAMPLE_S, device=None, control: str | None | bool = True, seed: int = SEED,
            table: str | None = None, extend: bool | None = None, max_rounds: int = MAX_ROUNDS,
            budget_s: float | None = None, timer: Callable[[], float] = time.perf_counter, quiet: bool = False,
            guard: bool = True) -> Timing:
    """Time ``models`` (``{name: model}``) with the protocol above on one random input of ``input_size``
    (one shape for all, or ``{name: shape}`` for modules that take different inputs).

    ``control``: the model timed twice as the A/A control (``True``: the first one, the baseline by
    the lab's convention; ``None``/``False``: none). ``rounds`` is the minimum; with ``extend`` (the
    default, unless ``LABKIT_TIMING_EXTEND=0``) rounds are added, 10 at a time, while the noise floor
    is wider than ``TARGET`` (half the guard's bound), up to ``max_rounds`` rounds or ``budget_s``
    seconds of timing (default ``BUDGET_S`` per ``MODELS_PER_BUDGET`` models, at least ``BUDGET_S``:
    a round of a wide table is long, so it needs more seconds for as many rounds): a precision target on the *control*, never on a model's speedup, so the
    verdicts are not chosen by when the run stops. ``table`` names the table in the guard's line;
    ``timer`` is the clock (a test injects a noisy one). Prints the guard's line when the run is
    busy (``quiet=True``: leave it to the caller; ``guard=False``: a choice among forms, not a table
    that compares, so no guard at all)."""
    if not models:
        raise ValueError("compare needs at least one model: pass {'name': model, ...}")
    for name, m in models.items():
        validate.module(m, name)
    for what, v in (("rounds", rounds), ("max_rounds", max_rounds)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{what} must be an int >= 1 (the number of shuffled rounds), got {v!r}")
    if control is True:
        control = next(iter(models))
    elif control is False:
        control = None
    if control is not None and control not in models:
        raise ValueError(f"control {control!r} is not one of the models: use one of {', '.join(map(repr, models))}")
    extend = _extend_default() if extend is None else extend
    if budget_s is None:
        budget_s = BUDGET_S * max(1.0, len(models) / MODELS_PER_BUDGET)
    device = torch.device(device) if device is not None else _device_of(models)
    shapes = {n: tuple(input_size[n]) if isinstance(input_size, Mapping) else tuple(input_size) for n in models}
    entries = dict(models)
    if control is not None:
        entries[control + AA_SUFFIX] = _twin(models[control])
        shapes[control + AA_SUFFIX] = shapes[control]
    xs: dict[tuple, torch.Tensor] = {}
    for shape in shapes.values():
        if shape not in xs:
            xs[shape] = torch.randn(*shape, device=device)
    for m in entries.values():
        m.eval()
    numbers: dict[str, int] = {}
    samples: dict[str, list[float]] = {k: [] for k in entries}
    rng = random.Random(seed)
    order_log: list[list[str]] = []
    names = list(entries)
    with torch.inference_mode():
        for name, m in entries.items():
            x = xs[shapes[name]]
            checked_forward(m, x)                              # a clear error on a bad shape
            _sync(device)
            t0 = timer()
            for _ in range(warmup):
                m(x)
            _sync(device)
            per_call = max((timer() - t0) / max(warmup, 1), 1e-7)
            numbers[name] = max(1, int(min_sample_s / per_call))
        if control is not None:                         # the two A/A entries make the same number of calls
            numbers[control + AA_SUFFIX] = numbers[control]

        def run(n_rounds: int) -> None:
            for _ in range(n_rounds):
                order = names[:]
                rng.shuffle(order)
                order_log.append(order)
                for name in order:
                    m, n, x = entries[name], numbers[name], xs[shapes[name]]
                    _sync(device)
                    t0 = timer()
                    for _ in range(n):
                        m(x)
                    _sync(device)
                    samples[name].append(max(timer() - t0, 1e-12) / n)

        started = timer()
        run(rounds)
        if extend and control is not None:
            while len(order_log) < max_rounds and timer() - started < budget_s:
                floor = Timing(samples, control, 1, device.type).floor
                if floor is not None and floor <= TARGET:
                    break
                run(min(10, max_rounds - len(order_log)))
    batch = int(shapes[next(iter(models))][0])
    result = Timing(samples, control, batch, device.type, table, order_log)
    line = result.guard() if guard else None
    if line and not quiet:
        print(line)
    return result
