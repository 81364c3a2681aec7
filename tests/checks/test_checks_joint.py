"""Notebook 08's check passes a correct Huffman and fails a stub and plausible wrong answers."""
import math

import numpy as np
import pytest

from labkit import checks, coding
from labkit.checks.joint import reference_lengths


def stub(*a):
    raise NotImplementedError()


def via_labkit(counts):                                      # the lab's coder (counts padded to 256)
    c = np.zeros(256, np.int64)
    c[:len(counts)] = counts
    return list(coding.code_lengths(c)[:len(counts)])


def fixed_length(counts):                                    # ceil(log2 n) for every used symbol
    used = sum(c > 0 for c in counts)
    b = max(1, math.ceil(math.log2(used)))
    return [b if c else 0 for c in counts]


def shannon(counts):                                         # ceil(-log2 p): prefix-free, not optimal
    n = sum(counts)
    return [max(1, math.ceil(-math.log2(c / n))) if c else 0 for c in counts]


def test_reference_and_labkit_pass():
    checks.check_huffman_lengths(reference_lengths)
    checks.check_huffman_lengths(via_labkit)


@pytest.mark.parametrize("wrong", [stub, fixed_length, shannon])
def test_wrong_answers_fail(wrong):
    with pytest.raises(AssertionError):
        checks.check_huffman_lengths(wrong)
