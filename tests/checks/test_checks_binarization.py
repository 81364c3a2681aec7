"""Notebook 04's checks pass correct implementations and fail a stub and plausible wrong answers."""
import numpy as np
import pytest
import torch

from labkit import checks
from labkit.binarization import binarize, kernels, xnor_scale


def stub(*a):
    raise NotImplementedError()


class TorchSignSTE(torch.autograd.Function):                 # sign(0) = 0
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1)


class Unclipped(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.where(x >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, g):
        return g


class MaskOnly(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (x.abs() <= 1).float()


def no_gradient(x):
    return torch.where(x >= 0, 1.0, -1.0) + 0 * x


class StrictClip(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, g):                                    # |x| < 1 instead of <= 1
        (x,) = ctx.saved_tensors
        return g * (x.abs() < 1)


def test_check_binarize_passes_the_solution(capsys):
    checks.check_binarize(binarize)
    assert "40 hidden cases" in capsys.readouterr().out


@pytest.mark.parametrize("wrong,hint", [
    (stub, "not implemented yet"), (TorchSignSTE.apply, "returned 0"), (Unclipped.apply, "not clipped"),
    (MaskOnly.apply, "mask alone"), (no_gradient, "0 everywhere"), (StrictClip.apply, "backward is wrong"),
    (lambda x: torch.where(x > 0, 1.0, -1.0), "forward values"),
])
def test_check_binarize_rejects(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_binarize(wrong)


def test_check_xnor_scale():
    checks.check_xnor_scale(xnor_scale)
    for wrong, hint in [(stub, "not implemented"), (lambda w: w.abs().mean(), "per output channel"),
                        (lambda w: w.reshape(w.shape[0], -1).mean(1), "mean of w"),
                        (lambda w: w.abs().reshape(w.shape[0], -1).amax(1), "max|w|"),
                        (lambda w: w.abs().reshape(w.shape[0], -1).median(1).values, "does not minimise")]:
        with pytest.raises(AssertionError, match=hint):
            checks.check_xnor_scale(wrong)


def test_check_xnor_kernels():
    checks.check_xnor_linear(kernels.xnor_matmul)
    checks.check_xnor_conv(kernels.xnor_conv)
    with pytest.raises(AssertionError, match="not implemented"):
        checks.check_xnor_linear(stub)
    ones_padding = lambda x, w: kernels.xnor_matmul(x, w) + (-np.asarray(w).shape[1] % 64) * 0 + \
        (np.asarray(w).shape[1] % 64 != 0)                                                    # noqa: E731
    with pytest.raises(AssertionError, match="differ"):
        checks.check_xnor_linear(ones_padding)
    with pytest.raises(AssertionError, match="differ"):                                       # zero padding
        checks.check_xnor_conv(lambda x, w, s, p: torch.nn.functional.conv2d(
            torch.where(torch.as_tensor(x) >= 0, 1.0, -1.0), torch.where(torch.as_tensor(w) >= 0, 1.0, -1.0),
            stride=s, padding=p).numpy().astype(np.int64))
    with pytest.raises(AssertionError, match="integers"):
        checks.check_xnor_linear(lambda x, w: kernels.xnor_matmul(x, w) + 0.5)
