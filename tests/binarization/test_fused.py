"""labkit.binarization.fused: the compiled XNOR-popcount kernels equal the numpy reference exactly."""
import numpy as np
import pytest
import torch

from labkit.binarization import fused, kernels

pytestmark = pytest.mark.skipif(not fused.available(), reason="numba is not installed (pip install numba)")


@pytest.mark.parametrize("b,k,n", [(1, 1152, 256), (3, 70, 5), (2, 64, 3), (5, 129, 7), (1, 1, 1)])
def test_linear_equals_the_numpy_kernel_and_the_float_matmul(b, k, n):
    rng = np.random.default_rng(b * 1000 + k)
    x = rng.standard_normal((b, k)).astype(np.float32)
    x[0, 0] = 0.0                                            # sign(0) is +1, as in the training layer
    w = torch.randn(n, k, generator=torch.Generator().manual_seed(k))
    ints = kernels.xnor_matmul(x, w)
    xs, ws = np.where(x >= 0, 1.0, -1.0), torch.where(w >= 0, 1.0, -1.0).numpy()
    assert np.array_equal(ints, (xs @ ws.T).astype(np.int32))
    alpha = rng.random(n).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    got = fused.linear(x, fused.weight_rows(kernels.weight_words(w)), k, alpha, bias)
    assert got.dtype == np.float32 and np.array_equal(got, ints.astype(np.float32) * alpha + bias)
    assert np.array_equal(fused.linear(x, fused.weight_rows(kernels.weight_words(w)), k, alpha, None),
                          ints.astype(np.float32) * alpha)


@pytest.mark.parametrize("shape,kernel,stride,padding", [((2, 3, 7, 6), 3, 1, 1), ((1, 32, 14, 14), 3, 1, 1),
                                                        ((2, 5, 9, 9), 3, 2, 0), ((1, 2, 5, 5), 1, 1, 0)])
def test_conv_equals_the_numpy_kernel(shape, kernel, stride, padding):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    w = torch.randn(4, shape[1], kernel, kernel, generator=torch.Generator().manual_seed(kernel))
    ref = kernels.xnor_conv(x, w, stride, padding)                         # (B, N, Ho, Wo) int32
    got = fused.conv2d(x, fused.weight_rows(kernels.weight_words(w)), w[0].numel(), np.ones(4, np.float32), None,
                       (kernel, kernel), (stride, stride), (padding, padding))
    assert np.array_equal(got.transpose(0, 3, 1, 2), ref.astype(np.float32))


def test_packed_layers_equal_the_training_layer_with_and_without_numba(monkeypatch):
    from labkit.binarization import layers
    torch.manual_seed(0)
    lin = layers.BinaryLinear(70, 5, kind="binary", binary_input=True).eval()
    codes, alpha = lin.codes_alpha()
    packed = kernels.PackedLinear(lin, (codes * alpha.reshape(-1, 1)).detach(), lin.bias.detach())
    x = torch.randn(3, 70)
    with torch.no_grad():
        trained = lin(x)
    compiled = packed(x)
    assert torch.equal(compiled, trained)
    monkeypatch.setattr(fused, "numba", None)
    assert not fused.available()
    assert torch.equal(packed(x), compiled)
