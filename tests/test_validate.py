import pytest
from torch import nn

from labkit import validate


@pytest.mark.parametrize("s", [0, 0.5, 0.999])
def test_valid_sparsity(s):
    assert validate.sparsity(s) == s


@pytest.mark.parametrize("s, match", [(1.0, r"\[0, 1\)"), (-0.1, r"\[0, 1\)"), (90, "did you mean 0.9"),
                                      (float("nan"), r"\[0, 1\)"), ("a lot", "fraction of zeros")])
def test_bad_sparsity_names_the_fix(s, match):
    with pytest.raises((ValueError, TypeError), match=match) as e:
        validate.sparsity(s)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("b", [1, 4, 8, 32, 8.0])
def test_valid_bits(b):
    assert validate.bits(b) == int(b)


@pytest.mark.parametrize("b", [0, 33, -1, 2.5, True, "8"])
def test_bad_bits_names_the_fix(b):
    with pytest.raises((ValueError, TypeError), match="bits"):
        validate.bits(b)


def test_module_and_choice():
    lin = nn.Linear(2, 2)
    assert validate.module(lin) is lin
    with pytest.raises(TypeError, match="nn.Module"):
        validate.module(42)
    with pytest.raises(ValueError, match="unknown storage format 'zip': use one of 'fp32', 'int8'"):
        validate.choice("zip", ["fp32", "int8"], "storage format")
