"""Checks for notebook 08 (joint compression): Huffman code lengths."""
from __future__ import annotations

import heapq
import math

import numpy as np

from ._common import call_student, hidden_rng


def reference_lengths(counts) -> list[int]:
    """Optimal (Huffman) code lengths by a plain heap of (count, depth list) pairs: an independent
    reference, written apart from ``labkit.coding``. Symbols of count 0 get length 0; a lone symbol 1."""
    used = [i for i, c in enumerate(counts) if c > 0]
    lengths = [0] * len(counts)
    if len(used) == 1:
        lengths[used[0]] = 1
        return lengths
    heap = [(int(counts[i]), k, [i]) for k, i in enumerate(used)]
    heapq.heapify(heap)
    k = len(heap)
    while len(heap) > 1:
        a, _, sa = heapq.heappop(heap)
        b, _, sb = heapq.heappop(heap)
        for i in sa + sb:
            lengths[i] += 1
        heapq.heappush(heap, (a + b, k, sa + sb))
        k += 1
    return lengths


def _case(rng, i: int) -> list[int]:
    if i == 0:
        return [5]                                            # one symbol
    if i == 1:
        return [3, 0, 7]                                      # an unused symbol
    if i == 2:
        return [1, 1, 1, 1, 1, 1, 1, 1]                       # uniform: 3 bits each
    if i == 3:
        return [2 ** k for k in range(12)]                    # powers of two: a deep, skewed tree
    n = rng.randint(2, 64)
    kind = rng.choice(["geometric", "uniform", "sparse", "peaked"])
    if kind == "geometric":
        p = rng.uniform(0.1, 0.8)
        return [max(0, int(1000 * (1 - p) ** k)) for k in range(n)]
    if kind == "uniform":
        return [rng.randint(1, 100) for _ in range(n)]
    if kind == "sparse":
        return [rng.randint(1, 50) if rng.random() < 0.4 else 0 for _ in range(n)] + [1]
    return [10000] + [rng.randint(1, 5) for _ in range(n - 1)]


def check_huffman_lengths(huffman_lengths, cases: int = 80) -> None:
    """Check ``huffman_lengths(counts) -> lengths`` (one non-negative int per symbol, 0 for an unused
    symbol) on hidden cases: a prefix code exists (Kraft sum <= 1, exactly 1 with two or more symbols),
    the coded length ``sum(count * length)`` equals an independent Huffman reference's (the optimum),
    and lies in ``[n H, n (H + 1))`` (Shannon's bound)."""
    rng = hidden_rng(8)
    for i in range(cases):
        counts = _case(rng, i)
        where = f"case {i}: counts {counts if len(counts) <= 12 else str(counts[:12])[:-1] + ', ...]'}"
        got = call_student(huffman_lengths, "huffman_lengths", list(counts))
        got = [int(x) for x in np.asarray(got).reshape(-1)]
        assert len(got) == len(counts), f"{where}: got {len(got)} lengths for {len(counts)} symbols: one per symbol"
        for c, l in zip(counts, got):
            assert l >= 0, f"{where}: a negative length {l}"
            assert (c == 0) == (l == 0), (f"{where}: a symbol of count {c} got length {l}: "
                                          f"unused symbols get 0, used ones at least 1")
        kraft = sum(2.0 ** -l for l in got if l)
        used = sum(c > 0 for c in counts)
        assert kraft <= 1 + 1e-12, f"{where}: Kraft sum {kraft:.4f} > 1: no prefix code has these lengths"
        if used >= 2:
            assert abs(kraft - 1) < 1e-12, f"{where}: Kraft sum {kraft:.4f} < 1: a Huffman tree is full (every node has two children)"
        total = sum(c * l for c, l in zip(counts, got))
        best = sum(c * l for c, l in zip(counts, reference_lengths(counts)))
        assert total == best, f"{where}: the code costs {total} bits, Huffman's optimum is {best}: merge the two smallest counts each time"
        n = sum(counts)
        h = -sum(c / n * math.log2(c / n) for c in counts if c)
        assert n * h - 1e-9 <= total < n * (h + 1) + (n if used == 1 else 0), f"{where}: {total} bits is outside [nH, n(H+1))"
    print(f"huffman_lengths: all {cases} hidden cases correct (optimal, prefix-free, within one bit of the entropy)")
