"""labkit.nas.rank: Kendall's tau-b against hand-computed examples."""
import math

import pytest

from labkit.nas import rank


def test_kendall_tau_by_hand():
    # pairs of (1,2,3,4,5) vs (3,4,1,2,5): 6 concordant, 4 discordant -> (6 - 4) / 10
    assert rank.kendall_tau([1, 2, 3, 4, 5], [3, 4, 1, 2, 5]) == pytest.approx(0.2)
    assert rank.kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    # a tie in x: pairs (1,2) tied, (1,3) and (2,3) concordant -> 2 / sqrt(2 * 3) (tau-b)
    assert rank.kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))
    assert math.isnan(rank.kendall_tau([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="equal length"):
        rank.kendall_tau([1, 2], [1, 2, 3])


def test_partial_tau_and_bootstrap():
    x, y, z = [1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5], [1, 3, 2, 5, 4, 6]
    txy, txz, tyz = rank.kendall_tau(x, y), rank.kendall_tau(x, z), rank.kendall_tau(y, z)
    assert rank.partial_tau(x, y, z) == pytest.approx((txy - txz * tyz) / math.sqrt((1 - txz ** 2) * (1 - tyz ** 2)))
    assert rank.partial_tau(x, y, [0, 0, 0, 0, 0, 1]) != txy
    lo, hi = rank.bootstrap_ci(x, y, reps=200)
    assert -1 <= lo <= txy <= hi <= 1
