"""labkit.profiling: operator names map to kinds of layer, op_times measures each kind present
(and only those), the stderr guard restores file descriptor 2, and the shares figure draws them."""
import os

import pytest
import torch
from torch import nn

from labkit import profiling


def test_kind_of_maps_aten_names_first_match_wins():
    assert profiling.kind_of("aten::mkldnn_convolution") == "convolution"
    assert profiling.kind_of("aten::conv2d") == "convolution"
    assert profiling.kind_of("aten::addmm") == "linear"
    assert profiling.kind_of("aten::max_pool2d_with_indices") == "pooling"
    assert profiling.kind_of("aten::native_batch_norm") == "batchnorm"
    assert profiling.kind_of("aten::relu_") == "activation"
    assert profiling.kind_of("aten::clamp_min") == "activation"
    assert profiling.kind_of("aten::empty") == profiling.kind_of("aten::view") == "other"
    assert profiling.KIND_NAMES[-1] == "other" and set(profiling.COUNTED_BY_MACS) <= set(profiling.KIND_NAMES)


def test_op_times_sees_the_kinds_a_model_has_and_not_the_others():
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(4 * 13 * 13, 10))
    t = profiling.op_times(cnn, batch_size=8, repeats=2)
    assert list(t) == list(profiling.KIND_NAMES)
    assert all(v >= 0 for v in t.values())
    assert t["convolution"] > 0 and t["linear"] > 0 and t["pooling"] > 0 and t["activation"] > 0
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    t = profiling.op_times(mlp, batch_size=4, repeats=1)
    assert t["linear"] > 0 and t["convolution"] == t["pooling"] == t["batchnorm"] == 0.0


def test_op_times_refuses_bad_arguments():
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        profiling.op_times(nn.Linear(784, 10), repeats=0)
    with pytest.raises((TypeError, ValueError)):
        profiling.op_times("not a model")


def test_native_stderr_is_restored():
    before = os.fstat(2)
    with profiling._quiet_native_stderr():
        assert os.path.samestat(os.fstat(2), os.stat(os.devnull))
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_shares_figure_one_bar_per_profile_split_by_kind():
    profiles = {"a": {"convolution": 6.0, "linear": 2.0, "pooling": 2.0},
                "b": dict.fromkeys(profiling.KIND_NAMES, 1.0)}
    fig = profiling.shares_figure(profiles, title="where the time goes")
    (ax,) = fig.axes
    bars = ax.patches
    assert len(bars) == 2 * len(profiling.KIND_NAMES)
    widths = [b.get_width() for b in bars]
    assert widths[:3] == pytest.approx([60.0, 20.0, 20.0]) and sum(widths[:6]) == pytest.approx(100.0)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert fig._suptitle.get_text() == "where the time goes"
