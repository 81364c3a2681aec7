"""The notebook 09 check: passes the reference solution, fails a stub and plausible mistakes."""
import itertools
import math

import pytest

from labkit import checks, explorer


def test_solution_passes(capsys):
    checks.check_kendall_tau(explorer.kendall_tau)
    assert "✓ kendall_tau" in capsys.readouterr().out


def test_stub_fails_with_a_pointer():
    def stub(a, b):
        raise NotImplementedError()
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_kendall_tau(stub)


def tau_a(a, b):      # ties ignored in the denominator: the classic mistake
    s = sum((x1 > x2) - (x1 < x2) if (y1 > y2) else -((x1 > x2) - (x1 < x2)) if (y1 < y2) else 0
            for (x1, y1), (x2, y2) in itertools.combinations(zip(a, b), 2))
    return s / (len(a) * (len(a) - 1) / 2)


def pearson(a, b):
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    return cov / math.sqrt(sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b))


@pytest.mark.parametrize("wrong", [tau_a, pearson, lambda a, b: -explorer.kendall_tau(a, b)])
def test_wrong_answers_fail(wrong):
    with pytest.raises(AssertionError, match="expected tau"):
        checks.check_kendall_tau(wrong)
