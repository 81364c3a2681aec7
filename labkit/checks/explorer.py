"""Check for notebook 09's exercise: Kendall's tau-b."""
from __future__ import annotations

import math
from collections import Counter

from ._common import call_student, hidden_rng


def _reference(a, b) -> float:
    """Tau-b by the textbook formula: (concordant - discordant) / sqrt((n0 - ties in a)(n0 - ties in b))."""
    n = len(a)
    n0 = n * (n - 1) / 2
    ta = sum(t * (t - 1) / 2 for t in Counter(a).values())
    tb = sum(t * (t - 1) / 2 for t in Counter(b).values())
    s = sum(((a[i] > a[j]) - (a[i] < a[j])) * ((b[i] > b[j]) - (b[i] < b[j])) for i in range(n) for j in range(i + 1, n))
    return s / math.sqrt((n0 - ta) * (n0 - tb))


def check_kendall_tau(kendall_tau, cases: int = 200) -> None:
    """Check ``kendall_tau(a, b) -> float`` on hidden random pairs of sequences, with and without
    ties, against the textbook tau-b (ties in either sequence shrink the denominator)."""
    rng = hidden_rng(9)
    for i in range(cases):
        n = rng.randint(2, 14)
        levels = rng.choice([3, 5, 1000])          # few levels: many ties
        a = [rng.randint(0, levels) for _ in range(n)]
        b = [rng.randint(0, levels) for _ in range(n)] if i % 4 else [-v + rng.random() * 0.5 for v in a]
        if len(set(a)) < 2 or len(set(b)) < 2:
            continue
        want = _reference(a, b)
        got = call_student(kendall_tau, "kendall_tau", list(a), list(b))
        if not isinstance(got, (int, float)) or not math.isfinite(got) or abs(got - want) > 1e-9:
            ties = "with ties" if len(set(a)) < n or len(set(b)) < n else "without ties"
            hint = (" (a tie in either sequence is neither concordant nor discordant, and tau-b divides by "
                    "sqrt((n0 - n1)(n0 - n2)) where n1, n2 count the pairs tied in a and in b)") if "with" in ties else ""
            raise AssertionError(f"case {i} ({n} values, {ties}): a={a}, b={b}: expected tau {want:.4f}, got {got!r}{hint}")
    print(f"✓ kendall_tau agrees with the textbook tau-b on {cases} hidden cases (with and without ties)")
