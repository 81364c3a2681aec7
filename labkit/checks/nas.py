"""Checks for notebook 07 (neural architecture search): sampling and mutating architectures of
the search space, and the latency lookup table's prediction for an architecture."""
from __future__ import annotations

import itertools
import random
from collections import Counter

from ._common import call_student, hidden_rng


def _valid(arch, where: str, what: str):
    from ..nas import space
    why = space.problem(arch)
    if why:
        raise AssertionError(f"{where}: {what} returned an architecture outside the space: {why}")
    return space.canonical(arch)


def check_space_size(n) -> None:
    """Check the number of architectures of ``labkit.nas.space``, counted here by enumerating every
    stage's (op, width, depth, kernel) combinations one by one."""
    from ..nas import space
    count = 1
    for s in range(len(space.STRIDES)):
        c = space.choices(s)
        count *= sum(1 for _ in itertools.product(c["op"], c["width"], c["depth"], c["kernel"]))
    if not isinstance(n, int) or isinstance(n, bool):
        raise AssertionError(f"the size is a whole number, got {n!r} ({type(n).__name__})")
    if n != count:
        raise AssertionError(f"got {n:,} architectures, but the space holds {count:,}: multiply, over the stages, "
                             f"the number of (op, width, depth, kernel) combinations of each (ops count ds and shuffle "
                             f"once, the other blocks once per expansion)")
    print(f"✓ space size: {n:,} architectures (counted stage by stage)")


def check_sample(sample, draws: int = 1500) -> None:
    """Check ``sample(rng) -> arch`` on hidden generators: every draw is a valid architecture of the
    space, the same generator state gives the same architecture, and over ``draws`` draws every
    option of every decision of every stage turns up about as often as the others (uniform)."""
    from ..nas import space
    rng = hidden_rng(7)
    seen, counts = set(), Counter()
    for i in range(draws):
        seed = rng.randrange(2 ** 31)
        a = _valid(call_student(sample, "sample", random.Random(seed)), f"draw {i}", "sample")
        if i < 20:
            b = space.canonical(call_student(sample, "sample", random.Random(seed)))
            if a != b:
                raise AssertionError(f"draw {i}: two generators with the same seed gave different architectures: "
                                     f"draw every choice from the rng you are given, not from the random module")
        seen.add(a)
        for s, d in enumerate(space.decisions(a)):
            for k, v in d.items():
                counts[(s, k, v)] += 1
    if len(seen) < 0.95 * draws:
        raise AssertionError(f"only {len(seen)} distinct architectures in {draws} draws: draw every decision of every stage")
    for s in range(len(space.STRIDES)):
        for k, opts in space.choices(s).items():
            expected = draws / len(opts)
            for o in opts:
                got = counts[(s, k, o)]
                if abs(got - expected) > 5 * (expected * (1 - 1 / len(opts))) ** 0.5 + 1:
                    raise AssertionError(f"stage {s}, {k} = {o!r}: {got} of {draws} draws, expected about {expected:.0f}: "
                                         f"draw each decision uniformly from its options (space.choices(stage))")
    print(f"✓ sample: {draws} valid draws, reproducible from the rng, every option about equally often")


def check_mutate(mutate, cases: int = 600) -> None:
    """Check ``mutate(arch, rng) -> arch`` on hidden random architectures: the result is valid,
    differs from the input in exactly one decision of one stage, leaves the input unchanged, and
    over many cases every (stage, decision) gets mutated and every option gets chosen."""
    from ..nas import space
    rng = hidden_rng(8)
    where_changed, new_values = Counter(), Counter()
    for i in range(cases):
        a = space.sample(rng)
        given = [list(r) for r in a] if i % 2 else a          # lists (as from JSON) and tuples
        before = [list(r) for r in given]
        b = _valid(call_student(mutate, "mutate", given, random.Random(rng.randrange(2 ** 31))), f"case {i}", "mutate")
        if [list(r) for r in given] != before:
            raise AssertionError(f"case {i}: mutate changed its input: return a new architecture")
        diff = space.changed(a, b)
        if len(diff) != 1:
            raise AssertionError(f"case {i}: {space.describe(a)} -> {space.describe(b)} changes {len(diff)} decisions "
                                 f"{diff}: change exactly one decision (op, width, depth or kernel) of one stage")
        s, k = diff[0]
        where_changed[(s, k)] += 1
        new_values[(s if k == "width" else None, k, space.decisions(b)[s][k])] += 1   # widths differ per stage
    never = [(s, k) for s in range(len(space.STRIDES)) for k in space.DECISIONS if not where_changed[(s, k)]]
    if never:
        raise AssertionError(f"in {cases} mutations these (stage, decision) pairs never changed: {never}: "
                             f"pick the stage and the decision at random")
    missing = [(s, k, o) for s in range(len(space.STRIDES)) for k, opts in space.choices(s).items() for o in opts
               if not new_values[(s if k == "width" else None, k, o)]]
    if missing:
        raise AssertionError(f"these options were never chosen by a mutation: {missing[:4]}: draw the new value from "
                             f"all the other options")
    print(f"✓ mutate: {cases} mutations, each a valid architecture one decision away, every decision and option reached")


def check_lut_predict(lut_predict, cases: int = 60) -> None:
    """Check ``lut_predict(lut, arch) -> ms`` against ``labkit.nas.latency.predict`` on hidden random
    architectures and hidden lookup tables with random entries (so every key must be right: the
    stem, each block with its input channels and input resolution, each repeat, the head)."""
    from ..nas import latency, space
    rng = hidden_rng(9)
    keys = latency.all_keys()
    for i in range(cases):
        lut = {k: rng.uniform(0.01, 1.0) for k in keys}
        for k in list(lut):                      # decoys: the same block keyed by its output resolution
            if k[0] not in ("stem", "head"):
                decoy = (k[0], k[1], k[2], (k[3] + k[4] - 1) // k[4], *k[4:])
                lut.setdefault(decoy, rng.uniform(5.0, 9.0))
        arch = space.sample(rng)
        want = latency.predict(lut, arch)
        try:
            got = call_student(lut_predict, "lut_predict", lut, arch)
        except KeyError as e:
            raise AssertionError(f"case {i}: {space.describe(arch)}: the LUT has no key {e}: a key is "
                                 f"(block, in, out, resolution, stride, kernel, expand, batch), with the block's "
                                 f"*input* resolution; the stem and the head have keys too") from None
        if not isinstance(got, (int, float)) or abs(got - want) > 1e-6 * max(1.0, abs(want)):
            raise AssertionError(f"case {i}: {space.describe(arch)}: got {got!r} ms, expected {want:.6f} ms (a hidden "
                                 f"LUT): sum the stem, every block of every stage (the first with the stage's stride, "
                                 f"the repeats with stride 1 at the new width and resolution) and the head")
    print(f"✓ lut_predict matches the library on {cases} random architectures and hidden lookup tables")
