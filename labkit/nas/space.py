"""The search space of notebook 07: the block-config table of ``labkit.models.CompactNet``.

An architecture *is* a config table: four stages, each a row ``(block, expand, out_channels,
repeats, stride, kernel)`` with the stride of ``models.COMPACT_CONFIG`` (the resolution plan
14 -> 14 -> 7 -> 7 -> 4 stays fixed; the stem and head are fixed too). Per stage four
decisions are searched:

==========  =====================================================================
``op``      the block and its expansion: ``ds`` and ``shuffle`` have no expansion,
            ``ir``, ``mb3``, ``ghost``, ``sandglass`` each come with e in ``EXPANDS``
``width``   output channels, one of the stage's ``WIDTHS``
``depth``   repeats of the block, one of ``DEPTHS``
``kernel``  depthwise kernel size, one of ``KERNELS``
==========  =====================================================================

Counting the block and its expansion as one decision (an "op", as ProxylessNAS and OFA do)
makes every encoding a distinct network: a ``ds`` stage has no expansion to vary.
``size()`` is computed from these tables. ``sample(rng)`` draws every decision uniformly;
``mutate(arch, rng)`` changes exactly one decision of one stage (regularized evolution's
mutation, Real et al. 2019, arXiv:1802.01548).
"""
from __future__ import annotations

import math
import random
from typing import Sequence

from ..blocks import BLOCKS
from ..models import COMPACT_CONFIG, CompactNet

BLOCK_NAMES = ("ds", "ir", "mb3", "shuffle", "ghost", "sandglass")   # the six compact blocks of notebook 01
NO_EXPAND = ("ds", "shuffle")            # blocks without an expansion ratio (stored as 1)
EXPANDS = (2, 4, 6)
WIDTHS = ((8, 16, 24), (16, 24, 32), (24, 40, 56), (32, 64, 96))     # per stage
DEPTHS = (1, 2, 3)
KERNELS = (3, 5)
STRIDES = tuple(row[4] for row in COMPACT_CONFIG)                   # (1, 2, 1, 2), as the compact baseline
DECISIONS = ("op", "width", "depth", "kernel")
assert set(BLOCK_NAMES) <= set(BLOCKS)

Arch = tuple   # tuple of rows (block, expand, out_channels, repeats, stride, kernel)


def ops() -> tuple[tuple[str, int], ...]:
    """Every (block, expand) choice of one stage."""
    return tuple((b, 1) for b in BLOCK_NAMES if b in NO_EXPAND) + \
        tuple((b, e) for b in BLOCK_NAMES if b not in NO_EXPAND for e in EXPANDS)


def op_name(block: str, expand: int) -> str:
    """``"ir-e4"``; ``"ds"`` for a block without expansion."""
    return block if block in NO_EXPAND else f"{block}-e{expand}"


def choices(stage: int) -> dict[str, tuple]:
    """The options of each decision of ``stage`` (0-based)."""
    return {"op": ops(), "width": WIDTHS[stage], "depth": DEPTHS, "kernel": KERNELS}


def stage_size(stage: int) -> int:
    return math.prod(len(v) for v in choices(stage).values())


def size() -> int:
    """How many distinct architectures the space holds: the product over stages of
    (ops x widths x depths x kernels)."""
    return math.prod(stage_size(s) for s in range(len(STRIDES)))


def row(stage: int, op: tuple[str, int], width: int, depth: int, kernel: int) -> tuple:
    block, expand = op
    return (block, expand, width, depth, STRIDES[stage], kernel)


def decisions(arch: Sequence) -> list[dict]:
    """Per stage ``{"op": (block, expand), "width", "depth", "kernel"}`` of ``arch``."""
    return [{"op": (r[0], r[1]), "width": r[2], "depth": r[3], "kernel": r[5]} for r in arch]


def problem(arch) -> str | None:
    """Why ``arch`` is not in the space, in a few words, or None."""
    if not isinstance(arch, (tuple, list)) or len(arch) != len(STRIDES):
        return f"an architecture is {len(STRIDES)} rows (one per stage), got {arch!r}"
    for s, r in enumerate(arch):
        if not isinstance(r, (tuple, list)) or len(r) != 6:
            return f"stage {s}: a row is (block, expand, out_channels, repeats, stride, kernel), got {r!r}"
        block, expand, width, depth, stride, kernel = r
        if (block, expand) not in ops():
            return f"stage {s}: op ({block!r}, {expand!r}) is not one of {[op_name(*o) for o in ops()]}"
        if width not in WIDTHS[s]:
            return f"stage {s}: width {width!r} is not one of {WIDTHS[s]}"
        if depth not in DEPTHS:
            return f"stage {s}: depth {depth!r} is not one of {DEPTHS}"
        if stride != STRIDES[s]:
            return f"stage {s}: stride {stride!r}, the space fixes it at {STRIDES[s]}"
        if kernel not in KERNELS:
            return f"stage {s}: kernel {kernel!r} is not one of {KERNELS}"
    return None


def is_valid(arch) -> bool:
    return problem(arch) is None


def canonical(arch) -> Arch:
    """``arch`` as a tuple of tuples (hashable; lists from JSON become tuples), checked."""
    a = tuple(tuple(r) for r in arch)
    why = problem(a)
    if why:
        raise ValueError(f"not an architecture of the space: {why}")
    return a


def sample(rng: random.Random) -> Arch:
    """A uniformly random architecture (every decision drawn independently)."""
    return tuple(row(s, rng.choice(c["op"]), rng.choice(c["width"]), rng.choice(c["depth"]), rng.choice(c["kernel"]))
                 for s, c in ((s, choices(s)) for s in range(len(STRIDES))))


def mutate(arch, rng: random.Random) -> Arch:
    """A copy of ``arch`` with exactly one decision of one stage changed to another option."""
    arch = canonical(arch)
    s = rng.randrange(len(arch))
    d = decisions(arch)[s]
    name = rng.choice(DECISIONS)
    d[name] = rng.choice([o for o in choices(s)[name] if o != d[name]])
    new = list(arch)
    new[s] = row(s, d["op"], d["width"], d["depth"], d["kernel"])
    return tuple(new)


def changed(a, b) -> list[tuple[int, str]]:
    """The (stage, decision) pairs where ``a`` and ``b`` differ."""
    return [(s, k) for s, (da, db) in enumerate(zip(decisions(a), decisions(b))) for k in DECISIONS if da[k] != db[k]]


def build(arch, **kw) -> CompactNet:
    """The network of ``arch`` (``CompactNet`` with its config, default stem and head)."""
    return CompactNet(canonical(arch), **kw)


def describe(arch) -> str:
    """One line: ``ir-e4/24x2/k3 | ...`` per stage."""
    return " | ".join(f"{op_name(r[0], r[1])}/{r[2]}x{r[3]}/k{r[5]}" for r in canonical(arch))


def as_params(arch) -> dict:
    """The architecture as Optuna-style flat parameters ``{"s0_op": "ir-e4", "s0_width": 16, ...}``."""
    out = {}
    for s, r in enumerate(canonical(arch)):
        out.update({f"s{s}_op": op_name(r[0], r[1]), f"s{s}_width": r[2], f"s{s}_depth": r[3], f"s{s}_kernel": r[5]})
    return out


def from_params(params: dict) -> Arch:
    """The inverse of ``as_params``."""
    by_name = {op_name(*o): o for o in ops()}
    return canonical(tuple(row(s, by_name[params[f"s{s}_op"]], params[f"s{s}_width"], params[f"s{s}_depth"],
                               params[f"s{s}_kernel"]) for s in range(len(STRIDES))))


def cycled_options(choices_of, n: int, rng: random.Random, reshuffle: bool = False) -> dict:
    """``{(stage, decision): n options}``: each decision's options (``choices_of(stage)``) cycled
    in shuffled blocks, so each appears about equally often; ``reshuffle`` shuffles each column
    once more, so columns are not aligned block by block."""
    cols = {}
    for s in range(len(STRIDES)):
        for k, opts in choices_of(s).items():
            seq = []
            while len(seq) < n:
                block = list(opts)
                rng.shuffle(block)
                seq += block
            cols[(s, k)] = seq[:n]
            if reshuffle:
                rng.shuffle(cols[(s, k)])
    return cols


def spanning(n: int, seed: int = 0) -> list[Arch]:
    """``n`` distinct architectures that span the space: every stage's ops, widths, depths and
    kernels cycle through their options in shuffled order (a Latin-hypercube-like design), so each
    option appears about equally often, unlike ``n`` uniform draws."""
    rng = random.Random(seed)
    cols = cycled_options(choices, n, rng, reshuffle=True)
    out, seen = [], set()
    for i in range(n):
        a = tuple(row(s, cols[(s, "op")][i], cols[(s, "width")][i], cols[(s, "depth")][i], cols[(s, "kernel")][i])
                  for s in range(len(STRIDES)))
        while a in seen:
            a = mutate(a, rng)
        seen.add(a)
        out.append(a)
    return out
