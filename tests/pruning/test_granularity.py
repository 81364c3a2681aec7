"""Granularity masks remove whole groups, the smallest L1 norm first, at the exact sparsity."""
import pytest
import torch

from labkit.pruning import granularity


@pytest.mark.parametrize("gran", granularity.GRANULARITIES)
def test_masks_remove_whole_groups_of_smallest_norm(gran):
    torch.manual_seed(0)
    w = torch.randn(8, 4, 3, 3)
    m = granularity.granularity_mask(w, 0.5, gran)
    assert m.shape == w.shape and m.dtype == torch.bool
    assert float(1 - m.float().mean()) == pytest.approx(0.5)
    view = {"fine": m.reshape(8, 4, 3, 3, 1), "vector": m, "kernel": m.reshape(8, 4, 9), "channel": m.reshape(8, 36)}[gran]
    assert bool((view.all(-1) | ~view.any(-1)).all())                          # each group all kept or all gone
    norms = w.abs().reshape(view.shape).sum(-1)
    kept, gone = norms[view.all(-1)], norms[~view.any(-1)]
    assert float(kept.min()) >= float(gone.max())


def test_channel_granularity_is_filter_pruning_and_bad_input_is_named():
    w = torch.arange(1, 4 * 2 * 3 * 3 + 1, dtype=torch.float32).reshape(4, 2, 3, 3)
    m = granularity.granularity_mask(w, 0.5, "channel")
    assert m[:2].sum() == 0 and bool(m[2:].all())                             # the two smallest filters go
    with pytest.raises(ValueError, match="granularity must be one of"):
        granularity.granularity_mask(w, 0.5, "block")
    with pytest.raises(ValueError, match="conv weight"):
        granularity.granularity_mask(torch.ones(3, 3), 0.5, "fine")
