"""Half-precision storage and per-group int4: the rounding, the groups, and the real bytes."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from labkit.packing import _unpack
from labkit.quantization import formats


def test_stored_as_rounds_every_float_tensor_to_the_type():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 26 * 26, 3))
    for fmt, dtype in formats.FLOAT_TYPES.items():
        r = formats.stored_as(m, fmt)
        for (k, a), b in zip(m.state_dict().items(), r.state_dict().values()):
            if a.is_floating_point():
                assert torch.equal(b, a.to(dtype).float()), (fmt, k)
        assert not torch.equal(r[0].weight, m[0].weight)           # it really rounded
    with pytest.raises(ValueError, match="fp16"):
        formats.stored_as(m, "fp8")


@pytest.mark.parametrize("shape, group", [((5, 64), 32), ((3, 9), 8), ((4, 2, 3, 3), 4), ((2, 7), 128)])
def test_group_quantize_is_within_half_a_step_of_each_group(shape, group):
    torch.manual_seed(1)
    w = torch.randn(shape) * torch.rand(shape[0], *([1] * (len(shape) - 1))) * 3
    codes, scale = formats.group_codes(w, 4, group)
    row = math.prod(shape[1:])
    assert codes.shape == (shape[0], row) and scale.shape == (shape[0], math.ceil(row / group))
    assert int(codes.min()) >= 0 and int(codes.max()) <= 14                 # q + 7 for q in [-7, 7]
    deq = formats.group_quantize(w, 4, group).reshape(shape[0], row)
    per_value = scale.float().repeat_interleave(group, dim=1)[:, :row]
    assert bool(((deq - w.reshape(shape[0], row)).abs() <= per_value / 2 + 1e-6).all())
    # each group's largest magnitude is on the grid's end (up to the fp16 rounding of its scale)
    g0 = w.reshape(shape[0], row)[0, :group]
    assert float(scale[0, 0]) == pytest.approx(float(g0.abs().max()) / 7, rel=1e-3)


def test_group_export_holds_the_codes_and_fp16_scales():
    torch.manual_seed(2)
    w = torch.randn(6, 40)
    blob = formats.group_export(w, 4, 16)
    codes, scale = formats.group_codes(w, 4, 16)
    n_codes = math.ceil(w.numel() * 4 / 8)
    assert len(blob) == n_codes + 2 * scale.numel()
    got = _unpack(np.frombuffer(blob[:n_codes], dtype=np.uint8), w.numel(), 4)
    assert np.array_equal(got.astype(np.int64), codes.reshape(-1).numpy())
    assert np.array_equal(np.frombuffer(blob[n_codes:], dtype="<f2"), scale.reshape(-1).numpy())


def test_group_bytes_counts_weights_packed_and_vectors_in_fp32():
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(16, 3))
    want = (math.ceil(36 * 4 / 8) + 2 * 4 * 1) + (math.ceil(48 * 4 / 8) + 2 * 3 * 1) + 4 * (4 + 4 * 4 + 3)
    assert formats.group_bytes(m, 4, 32) == want
    with pytest.raises(ValueError, match="group"):
        formats.group_bytes(m, 4, 0)
