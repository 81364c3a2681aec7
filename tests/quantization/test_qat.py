"""labkit.qat: the straight-through estimator trains the shadow weights, freezing stores the grid."""
import pytest
import torch
from torch import nn

from labkit.quantization import ptq
from labkit.quantization import qat


def tiny():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64, 3)).eval()


def data(seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 1, 8, 8, generator=g)
    return [(x, (x.mean((1, 2, 3)) > 0).long() + (x[:, 0, 0, 0] > 0).long())]


def test_prepare_calibrates_and_leaves_weights_float():
    q = qat.prepare(tiny(), bits=2, act_bits=8, batches=data())
    layers = ptq.quant_layers(q)
    assert all(not m.frozen and m.act_bits == 8 for m in layers.values())
    assert float(layers["0"].act_scale) != 1.0                           # calibrated
    w = layers["5"].layer.weight
    assert w.unique().numel() > 100                                        # shadow weights stay fp32


def test_ste_training_lowers_the_loss_and_freeze_stores_the_grid():
    q = qat.prepare(tiny(), bits=2, act_bits=8, batches=data())
    opt = torch.optim.Adam(q.parameters(), lr=1e-2)
    x, y = data()[0]
    losses = []
    for _ in range(40):
        loss = nn.functional.cross_entropy(q(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] * 0.9                                  # gradients reached the weights
    q.eval()                                                             # eval: a fresh range search, as freeze_ does
    before = q(x).detach()
    ptq.freeze_(q)
    assert torch.allclose(q(x), before, atol=1e-5)                       # frozen = what was trained
    for m in ptq.quant_layers(q).values():
        for row in m.layer.weight.detach().reshape(m.layer.weight.shape[0], -1):
            assert row.unique().numel() <= 3                             # ternary
    assert ptq.size_bytes(q) == len(ptq.export(q))


def test_bad_epochs():
    with pytest.raises(ValueError, match="epochs must be > 0"):
        qat.quantization_aware_training(tiny(), 4, epochs=0)
