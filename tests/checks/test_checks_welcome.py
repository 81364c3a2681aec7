"""Every check passes the reference solution and fails a stub and plausible wrong answers."""
import pytest

from labkit import checks
from labkit.checks import welcome


def conv2d_macs_reference(conv, height, width):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
    out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    return out_h * out_w * conv.out_channels * (conv.in_channels // conv.groups) * kh * kw


def stub(conv, height, width):
    raise NotImplementedError()


def forgets_groups(conv, height, width):
    return conv2d_macs_reference(conv, height, width) * conv.groups


def uses_input_size(conv, height, width):
    kh, kw = conv.kernel_size
    return height * width * conv.out_channels * (conv.in_channels // conv.groups) * kh * kw


def ignores_dilation(conv, height, width):
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    out_h, out_w = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    return out_h * out_w * conv.out_channels * (conv.in_channels // conv.groups) * kh * kw


def counts_flops(conv, height, width):
    return 2 * conv2d_macs_reference(conv, height, width)


def square_kernel_only(conv, height, width):
    k = conv.kernel_size[0]
    return conv2d_macs_reference(conv, height, width) // conv.kernel_size[1] * k


def test_reference_passes(capsys):
    assert checks.check_conv_macs(conv2d_macs_reference) is None
    assert "✓ conv2d_macs matches the measured MACs of 60 random" in capsys.readouterr().out


def test_stub_fails_with_a_pointer_to_the_cell():
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_conv_macs(stub)


@pytest.mark.parametrize("wrong", [forgets_groups, uses_input_size, ignores_dilation, counts_flops,
                                   square_kernel_only, lambda c, h, w: 0, lambda c, h, w: 1.0 * conv2d_macs_reference(c, h, w)])
def test_plausible_wrong_answers_fail(wrong):
    with pytest.raises(AssertionError):
        checks.check_conv_macs(wrong)


def test_the_hidden_cases_cover_the_hazards():
    rng = checks.hidden_rng(0)
    convs = [welcome._random_conv(rng)[0] for _ in range(60)]
    assert any(c.groups == c.in_channels > 1 for c in convs)              # depthwise
    assert any(1 < c.groups < c.in_channels for c in convs)
    assert any(c.dilation[0] > 1 for c in convs) and any(c.stride[0] > 1 for c in convs)
    assert any(c.kernel_size[0] != c.kernel_size[1] for c in convs)
