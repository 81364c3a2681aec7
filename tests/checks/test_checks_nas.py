"""The notebook 07 checks: pass the reference solutions, fail stubs and plausible mistakes."""
import random

import pytest

from labkit import checks
from labkit.nas import latency, space


def test_solutions_pass(capsys):
    checks.check_space_size(space.size())
    checks.check_sample(space.sample)
    checks.check_mutate(space.mutate)
    checks.check_lut_predict(latency.predict, cases=30)
    out = capsys.readouterr().out
    assert out.count("✓") == 4


def test_stubs_fail_with_a_pointer():
    def stub(*a):
        raise NotImplementedError()
    for check in (checks.check_sample, checks.check_mutate, checks.check_lut_predict):
        with pytest.raises(AssertionError, match="not implemented yet"):
            check(stub)


def test_wrong_sizes_fail():
    with pytest.raises(AssertionError, match="the space holds"):
        checks.check_space_size(324 ** 4)        # expansion counted for every block (duplicates)
    with pytest.raises(AssertionError, match="whole number"):
        checks.check_space_size(float(space.size()))


def test_wrong_samples_fail():
    fixed = space.sample(random.Random(0))
    with pytest.raises(AssertionError, match="distinct"):
        checks.check_sample(lambda rng: fixed, draws=200)
    with pytest.raises(AssertionError, match="same seed"):
        checks.check_sample(lambda rng: space.sample(random.Random()), draws=200)

    def no_kernel_5(rng):
        a = [list(r) for r in space.sample(rng)]
        for r in a:
            r[5] = 3
        return a
    with pytest.raises(AssertionError, match="kernel"):
        checks.check_sample(no_kernel_5, draws=400)

    def bad_stride(rng):
        a = [list(r) for r in space.sample(rng)]
        a[0][4] = 2
        return a
    with pytest.raises(AssertionError, match="stride"):
        checks.check_sample(bad_stride, draws=50)


def test_wrong_mutations_fail():
    with pytest.raises(AssertionError, match="changes 0 decisions"):
        checks.check_mutate(lambda a, rng: a, cases=50)
    with pytest.raises(AssertionError, match="changes 2 decisions"):
        checks.check_mutate(lambda a, rng: space.mutate(space.mutate(a, rng), rng), cases=200)

    def only_stage_0(a, rng):
        a = space.canonical(a)
        d = space.decisions(a)[0]
        d["kernel"] = 5 if d["kernel"] == 3 else 3
        return (space.row(0, d["op"], d["width"], d["depth"], d["kernel"]), *a[1:])
    with pytest.raises(AssertionError, match="never changed"):
        checks.check_mutate(only_stage_0, cases=60)

    def in_place(a, rng):
        b = space.mutate(a, rng)
        if isinstance(a[0], list):
            a[0][5] = 5 if a[0][5] == 3 else 3
        return b
    with pytest.raises(AssertionError, match="changed its input"):
        checks.check_mutate(in_place, cases=20)


def test_wrong_lut_predictions_fail():
    def output_resolution(lut, arch):
        return sum(lut.get((k[0], k[1], k[2], (k[3] + k[4] - 1) // k[4], *k[4:]), lut.get(k)) for k in latency.keys(arch))
    with pytest.raises(AssertionError, match="expected"):
        checks.check_lut_predict(output_resolution, cases=20)

    def no_head(lut, arch):
        return sum(lut[k] for k in latency.keys(arch)[:-1])
    with pytest.raises(AssertionError, match="head"):
        checks.check_lut_predict(no_head, cases=20)

    def one_key_per_stage(lut, arch):
        ks = latency.keys(arch)
        return lut[ks[0]] + lut[ks[-1]] + sum(lut[k] * r[3] for k, r in zip([k for k in ks[1:-1] if k[4] != 1 or True][:4], arch))
    with pytest.raises(AssertionError):
        checks.check_lut_predict(one_key_per_stage, cases=20)
