"""labkit.layers: one list of compressible layers, replacing one, folding BatchNorm."""
import pytest
import torch
from torch import nn

from labkit import layers, models


def test_weighted_layers_are_the_conv_and_linear_layers_by_name():
    m = models.baseline_cnn()
    assert list(layers.weighted_layers(m)) == ["0", "4", "8", "13", "15"]
    assert layers.get_layer(m, "13") is m[13]
    with pytest.raises(ValueError, match="no Conv2d/Linear layer named 'fc1'.*'0', '4'"):
        layers.get_layer(m, "fc1")


def test_replace_puts_a_module_in_place_also_when_nested():
    m = nn.Sequential(nn.Sequential(nn.Linear(4, 4), nn.ReLU()), nn.Linear(4, 2))
    new = nn.Identity()
    layers.replace_(m, "0.0", new)
    assert m[0][0] is new and list(layers.weighted_layers(m)) == ["1"]


def test_fold_batchnorm_keeps_the_function():
    torch.manual_seed(0)
    m = models.baseline_cnn(width=8).eval()
    for bn in (x for x in m.modules() if isinstance(x, nn.BatchNorm2d)):
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
    folded = layers.fold_batchnorm(m)
    x = torch.randn(4, 1, 28, 28)
    assert torch.allclose(folded(x), m(x), atol=1e-4)
    assert not any(isinstance(x, nn.BatchNorm2d) for x in folded.modules())
