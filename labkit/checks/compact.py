"""Checks for notebook 01 (compact networks): the blocks the student builds.

Each block check builds the student's block on random configurations, runs it on random
inputs (eval mode) and compares with the block's formulas: output shape, the number of
convolution weights, and the MACs measured by ``labkit.metrics`` on the real layers; then
properties that a wrong wiring breaks (the residual is there exactly when shapes allow,
the bottleneck is linear, a BatchNorm follows each convolution, ghost maps come from the
intrinsic ones, ...). The pure functions (h-swish, squeeze-and-excitation, channel shuffle)
are compared with torch's and torchvision's own implementations.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..metrics import count_macs
from ._common import call_student, hidden_rng


# ---------------------------------------------------------------- shared helpers
def _out(h: int, stride: int) -> int:
    return (h - 1) // stride + 1          # 'same' padding (k // 2) with an odd kernel


def _conv_weights(m: nn.Module) -> int:
    return sum(c.weight.numel() for c in m.modules() if isinstance(c, nn.Conv2d))


def _build(fn, name: str, *args) -> nn.Module:
    m = call_student(fn, name, *args)
    if not isinstance(m, nn.Module):
        raise AssertionError(f"{name}(...) must return an nn.Module (e.g. nn.Sequential(...)), got {type(m).__name__}")
    return m.eval()


def _run(m: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    try:
        with torch.no_grad():
            return m(x)
    except Exception as e:  # the student's wiring failed on a legal input
        first = (str(e).strip().splitlines() or [""])[0]
        raise AssertionError(f"{what} failed on an input of shape {tuple(x.shape)}: {type(e).__name__}: {first}") from None


def _zero_convs(m: nn.Module) -> None:
    with torch.no_grad():
        for c in m.modules():
            if isinstance(c, (nn.Conv2d, nn.Linear)):
                c.weight.zero_()
                if c.bias is not None:
                    c.bias.zero_()


def _randomize(m: nn.Module, g: torch.Generator) -> None:
    """Seeded N(0, 1) weights (and biases) in every convolution and linear layer."""
    with torch.no_grad():
        for c in m.modules():
            if isinstance(c, (nn.Conv2d, nn.Linear)):
                c.weight.copy_(torch.randn(c.weight.shape, generator=g))
                if c.bias is not None:
                    c.bias.copy_(torch.randn(c.bias.shape, generator=g))


def _input_min(m: nn.Module, conv: nn.Module, x: torch.Tensor, what: str) -> float:
    """The smallest value that reaches ``conv`` (a layer of ``m``) when ``m`` runs on ``x``."""
    seen = []
    handle = conv.register_forward_pre_hook(lambda _, args: seen.append(float(args[0].min())))
    try:
        _run(m, x, what)
    finally:
        handle.remove()
    return min(seen)


def _one_conv(m: nn.Module, keep) -> nn.Conv2d | None:
    """The only convolution of ``m`` that ``keep`` accepts (None when none or several do)."""
    found = [c for c in m.modules() if isinstance(c, nn.Conv2d) and keep(c)]
    return found[0] if len(found) == 1 else None


def _check_shape_params_macs(m, x, what, out_ch, stride, want_weights, want_macs, hints):
    n, _, h, w = x.shape
    y = _run(m, x, what)
    want_shape = (n, out_ch, _out(h, stride), _out(w, stride))
    if tuple(y.shape) != want_shape:
        raise AssertionError(f"{what}: output shape {tuple(y.shape)}, expected {want_shape}. "
                             f"Hint: 'same' padding (kernel // 2) and the stride in the right layer.")
    got = _conv_weights(m)
    if got != want_weights:
        raise AssertionError(f"{what}: {got:,} convolution weights, the formula gives {want_weights:,}. Hint: {hints['params']}")
    macs = count_macs(m, (1, *x.shape[1:]))
    if macs != want_macs:
        raise AssertionError(f"{what}: {macs:,} MACs measured on your layers, the formula gives {want_macs:,}. "
                             f"Hint: {hints['macs']}")
    return y


def _check_residual_and_linear(fn, name, kw, x, residual, what):
    """Zeroed convolutions: the block must return x (residual) or 0; random weights: the
    output (minus x if residual) must go negative, since nothing follows the last layer."""
    m = _build(fn, name, *kw)
    _zero_convs(m)
    y0 = _run(m, x, what)
    if residual and not torch.allclose(y0, x, atol=1e-6):
        raise AssertionError(f"{what}: with every convolution zeroed the block should return its input "
                             f"(stride 1 and in_ch == out_ch: add the residual x + body(x))")
    if not residual and y0.abs().max() > 1e-6:
        raise AssertionError(f"{what}: with every convolution zeroed the block should output zeros, it does not. "
                             f"Hint: the residual is only added when stride == 1 and in_ch == out_ch")
    # a linear last layer goes negative for almost every random weight draw; an activation after
    # it never does. Several seeded draws, so that an unlucky initialisation cannot fail a right block.
    g = torch.Generator().manual_seed(len(what) * 7919 + x.numel())
    for _ in range(8):
        m = _build(fn, name, *kw)
        _randomize(m, g)
        y = _run(m, x, what)
        body = y - x if residual else y
        if body.min() < 0:
            return
    raise AssertionError(f"{what}: the block's output{' minus x' if residual else ''} is never negative: "
                         f"an activation follows the last layer. The last layer must be linear (no ReLU6): "
                         f"a ReLU in the narrow layer destroys information (MobileNetV2, section 3.2)")


def _configs(rng, cases, strides=(1, 2), same_share=0.4):
    for _ in range(cases):
        in_ch = rng.choice([4, 6, 8, 12, 16, 24])
        out_ch = in_ch if rng.random() < same_share else rng.choice([4, 8, 12, 20, 32])
        yield in_ch, out_ch, rng.choice(strides), rng.choice([3, 3, 5]), rng.randint(5, 12), rng.randint(5, 12)


# ---------------------------------------------------------------- 1. depthwise-separable
_DS_LAYOUT = "MobileNetV1: depthwise kxk conv -> BN -> ReLU -> pointwise 1x1 conv -> BN -> ReLU"


def _check_ds_bn_relu(fn, name, kw, x, what):
    """BN and ReLU where MobileNetV1 puts them: the output is never negative (a ReLU ends the
    block), the pointwise convolution only sees non-negative inputs (a ReLU follows the
    depthwise one), and in training mode scaling any convolution's output channels by positive
    factors changes nothing (a BatchNorm follows it: ReLU is positively homogeneous)."""
    g = torch.Generator().manual_seed(len(what) * 7919 + x.numel())
    m = _build(fn, name, *kw)
    _randomize(m, g)
    y = _run(m, x, what)
    if y.min() < 0:
        raise AssertionError(f"{what}: the block's output goes negative ({float(y.min()):.3g}): the final ReLU is missing. "
                             f"Hint: a ReLU after the pointwise BN ({_DS_LAYOUT})")
    pointwise = _one_conv(m, lambda c: c.kernel_size == (1, 1) and c.groups == 1)
    if pointwise is not None and _input_min(m, pointwise, x, what) < 0:
        raise AssertionError(f"{what}: the pointwise convolution receives negative values: the ReLU after the depthwise "
                             f"BN is missing. Hint: {_DS_LAYOUT}")
    m.train()                                       # BatchNorm normalises with the batch's own statistics
    y0 = _run(m, x, what)
    missing = []
    for conv in [c for c in m.modules() if isinstance(c, nn.Conv2d)]:
        f = torch.rand(conv.out_channels, generator=g) * 1.5 + 0.5          # in [0.5, 2]
        with torch.no_grad():
            conv.weight.mul_(f.view(-1, 1, 1, 1))
            if conv.bias is not None:
                conv.bias.mul_(f)
            y1 = _run(m, x, what)
            conv.weight.div_(f.view(-1, 1, 1, 1))
            if conv.bias is not None:
                conv.bias.div_(f)
        if not torch.allclose(y1, y0, rtol=1e-3, atol=1e-3 * float(y0.abs().max()) + 1e-6):   # BN eps: ~1e-4
            missing.append("depthwise" if conv.groups > 1 else "pointwise")
    if missing:
        which = " and the ".join(missing) + " convolution" + "s" * (len(missing) > 1)
        raise AssertionError(f"{what}: in training mode, scaling the output channels of the {which} changes "
                             f"the block's output: no BatchNorm follows the {which}. Hint: {_DS_LAYOUT}")


def check_depthwise_separable(depthwise_separable, cases: int = 24) -> None:
    """``depthwise_separable(in_ch, out_ch, stride, kernel) -> nn.Module``: depthwise k x k
    (stride) + BN + ReLU, then pointwise 1 x 1 + BN + ReLU (MobileNetV1); the BNs and ReLUs
    are checked by what they do (see ``_check_ds_bn_relu``)."""
    rng = hidden_rng(101)
    for i, (cin, cout, s, k, h, w) in enumerate(_configs(rng, cases)):
        what = f"case {i}: depthwise_separable({cin}, {cout}, stride={s}, kernel={k}) on {h}x{w}"
        m = _build(depthwise_separable, "depthwise_separable", cin, cout, s, k)
        ho, wo = _out(h, s), _out(w, s)
        x = torch.randn(2, cin, h, w)
        _check_shape_params_macs(
            m, x, what, cout, s,
            want_weights=k * k * cin + cin * cout, want_macs=ho * wo * (k * k * cin + cin * cout),
            hints={"params": f"depthwise k*k*in_ch = {k * k * cin} (groups=in_ch) + pointwise in_ch*out_ch = {cin * cout}; "
                             f"a standard conv would have {k * k * cin * cout}",
                   "macs": "the stride belongs to the depthwise convolution, so the pointwise one runs on the smaller output"})
        _check_ds_bn_relu(depthwise_separable, "depthwise_separable", (cin, cout, s, k), x, what)
    print(f"✓ depthwise_separable: shapes, k²·C_in + C_in·C_out weights and the MACs hold on {cases} random configurations")


# ---------------------------------------------------------------- 2. inverted residual
def check_inverted_residual(inverted_residual, cases: int = 24) -> None:
    """``inverted_residual(in_ch, out_ch, stride, expand, kernel) -> nn.Module``: 1x1 expand
    to ``in_ch * expand`` (ReLU6; omitted when expand == 1) -> depthwise kxk (stride, ReLU6)
    -> linear 1x1 projection, plus the input when stride == 1 and in_ch == out_ch (MobileNetV2)."""
    rng = hidden_rng(102)
    for i, (cin, cout, s, k, h, w) in enumerate(_configs(rng, cases)):
        t = rng.choice([1, 2, 4, 6])
        what = f"case {i}: inverted_residual({cin}, {cout}, stride={s}, expand={t}, kernel={k}) on {h}x{w}"
        kw = (cin, cout, s, t, k)
        m = _build(inverted_residual, "inverted_residual", *kw)
        hid, ho, wo = cin * t, _out(h, s), _out(w, s)
        expand_w = cin * hid if t != 1 else 0
        x = torch.randn(2, cin, h, w)
        _check_shape_params_macs(
            m, x, what, cout, s,
            want_weights=expand_w + k * k * hid + hid * cout,
            want_macs=h * w * expand_w + ho * wo * (k * k * hid + hid * cout),
            hints={"params": f"expand in_ch*hidden = {expand_w} (none when expand == 1), depthwise k*k*hidden = {k * k * hid}, "
                             f"project hidden*out_ch = {hid * cout}",
                   "macs": "expand at the input resolution, the stride on the depthwise convolution"})
        _check_residual_and_linear(inverted_residual, "inverted_residual", kw, x, s == 1 and cin == cout, what)
    print(f"✓ inverted_residual: shapes, weights, MACs, the residual exactly when shapes allow, and a linear "
          f"bottleneck on {cases} random configurations")


# ---------------------------------------------------------------- 3. SE + h-swish
def check_se_hswish(hard_swish, squeeze_excite, cases: int = 20) -> None:
    """``hard_swish(x)`` = x * ReLU6(x + 3) / 6, and ``squeeze_excite(x, w1, b1, w2, b2)``:
    global average pool -> ``w1 @ s + b1`` -> ReLU -> ``w2 @ . + b2`` -> hard-sigmoid -> scale
    each channel of x (MobileNetV3's SE), compared with torch and torchvision."""
    from torchvision.ops import SqueezeExcitation
    g = torch.Generator().manual_seed(hidden_rng(103).randrange(2 ** 31))
    edges = torch.tensor([-4.0, -3.0, -2.5, -1e-3, 0.0, 1e-3, 1.5, 3.0, 4.0])
    for i in range(cases):
        x = torch.randn(3, 7, generator=g) * 4
        x = torch.cat([x.flatten(), edges]) if i == 0 else x
        got = call_student(hard_swish, "hard_swish", x.clone())
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            raise AssertionError(f"hard_swish must return a tensor of the input's shape {tuple(x.shape)}")
        want = F.hardswish(x)
        if not torch.allclose(got, want, atol=1e-5):
            j = int((got - want).abs().argmax())
            hint = ("swish uses a sigmoid; h-swish replaces it by ReLU6(x + 3) / 6" if torch.allclose(got, x * torch.sigmoid(x), atol=1e-5)
                    else "x * ReLU6(x + 3) / 6: zero below -3, x above +3")
            raise AssertionError(f"hard_swish({float(x.flatten()[j]):.3f}) = {float(got.flatten()[j]):.4f}, "
                                 f"expected {float(want.flatten()[j]):.4f}. Hint: {hint}")
    rng = hidden_rng(104)
    for i in range(cases):
        c = rng.choice([4, 8, 12, 16, 32])
        cr = max(1, c // rng.choice([2, 4]))
        n, h, w = rng.randint(1, 3), rng.randint(1, 9), rng.randint(1, 9)
        x = torch.randn(n, c, h, w, generator=g) * 2 + 0.5
        ref = SqueezeExcitation(c, cr, scale_activation=nn.Hardsigmoid).eval()
        with torch.no_grad():
            for p in ref.parameters():
                p.copy_(torch.randn(p.shape, generator=g))
        w1, b1 = ref.fc1.weight.detach().view(cr, c).clone(), ref.fc1.bias.detach().clone()
        w2, b2 = ref.fc2.weight.detach().view(c, cr).clone(), ref.fc2.bias.detach().clone()
        got = call_student(squeeze_excite, "squeeze_excite", x.clone(), w1, b1, w2, b2)
        with torch.no_grad():
            want = ref(x)
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            raise AssertionError(f"squeeze_excite must return a tensor of x's shape {tuple(x.shape)}")
        if not torch.allclose(got, want, atol=1e-4, rtol=1e-4):
            s = x.mean((2, 3))
            sig = x * torch.sigmoid(F.relu(s @ w1.T + b1) @ w2.T + b2)[:, :, None, None]
            hint = ("the gate is a hard-sigmoid ReLU6(z + 3) / 6, not a sigmoid" if torch.allclose(got, sig, atol=1e-4)
                    else "squeeze = mean over H and W; then w1 @ s + b1, ReLU, w2 @ . + b2, hard-sigmoid; multiply x channel-wise")
            raise AssertionError(f"case {i}: squeeze_excite on x of shape {tuple(x.shape)} differs from torchvision's "
                                 f"SqueezeExcitation by up to {float((got - want).abs().max()):.4f}. Hint: {hint}")
    print(f"✓ hard_swish matches torch's hardswish and squeeze_excite matches torchvision's SqueezeExcitation "
          f"(hard-sigmoid gate) on {cases} random cases each")


# ---------------------------------------------------------------- 4. channel shuffle
def check_channel_shuffle(channel_shuffle, cases: int = 30) -> None:
    """``channel_shuffle(x, groups)``: (N, C, H, W) -> same shape, channel ``g * (C // groups) + i``
    moved to ``i * groups + g``; compared with ``torch.nn.ChannelShuffle``, and shown to be a
    permutation that ``channel_shuffle(., C // groups)`` undoes."""
    rng = hidden_rng(105)
    g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    for i in range(cases):
        groups, per = rng.choice([2, 3, 4, 8, 1]), rng.choice([1, 2, 3, 5])
        if i < 4:
            groups, per = [(2, 3), (3, 2), (4, 4), (2, 8)][i]
        c = groups * per
        x = torch.randn(rng.randint(1, 3), c, rng.randint(1, 5), rng.randint(1, 5), generator=g)
        what = f"case {i}: channel_shuffle(x of shape {tuple(x.shape)}, groups={groups})"
        y = call_student(channel_shuffle, "channel_shuffle", x.clone(), groups)
        if not isinstance(y, torch.Tensor) or y.shape != x.shape:
            raise AssertionError(f"{what} must return a tensor of x's shape")
        want = nn.ChannelShuffle(groups)(x)
        if not torch.equal(y, want):
            ids = torch.arange(c, dtype=torch.float32).view(1, c, 1, 1)
            order = [int(v) for v in call_student(channel_shuffle, "channel_shuffle", ids, groups).flatten()]
            expected = [int(v) for v in nn.ChannelShuffle(groups)(ids).flatten()]
            inverse = [int(v) for v in nn.ChannelShuffle(per)(ids).flatten()]
            hint = ("that is the inverse shuffle: view as (N, groups, C // groups, H, W), then swap dims 1 and 2"
                    if order == inverse else "view as (N, groups, C // groups, H, W), transpose(1, 2), reshape back")
            raise AssertionError(f"{what}: channel order {order}, expected {expected}. Hint: {hint}")
        back = call_student(channel_shuffle, "channel_shuffle", y, per)
        if not torch.equal(back, x):
            raise AssertionError(f"{what}: shuffling again with C // groups = {per} groups should undo it")
    print(f"✓ channel_shuffle matches torch.nn.ChannelShuffle and is a permutation its inverse undoes "
          f"({cases} random shapes and group counts)")


# ---------------------------------------------------------------- 5. Ghost module
def check_ghost_module(ghost_module, cases: int = 20) -> None:
    """``ghost_module(in_ch, out_ch, ratio, dw_kernel) -> nn.Module``: a 1x1 conv (+BN+ReLU)
    makes m = ceil(out_ch / ratio) intrinsic maps, a depthwise dw_kernel conv (groups = m,
    +BN+ReLU) makes (ratio - 1) ghosts of each; output: intrinsic then ghosts, first out_ch (GhostNet)."""
    rng = hidden_rng(106)
    for i in range(cases):
        cin, cout = rng.choice([3, 4, 8, 16]), rng.choice([4, 6, 9, 16, 24, 30])
        ratio, d = rng.choice([2, 2, 3, 4]), rng.choice([3, 3, 5])
        h, w = rng.randint(7, 12), rng.randint(7, 12)
        what = f"case {i}: ghost_module({cin}, {cout}, ratio={ratio}, dw_kernel={d}) on {h}x{w}"
        m = _build(ghost_module, "ghost_module", cin, cout, ratio, d)
        mm = math.ceil(cout / ratio)
        x = torch.randn(1, cin, h, w)
        y = _check_shape_params_macs(
            m, x, what, cout, 1,
            want_weights=cin * mm + d * d * mm * (ratio - 1), want_macs=h * w * (cin * mm + d * d * mm * (ratio - 1)),
            hints={"params": f"primary 1x1: in_ch*m = {cin * mm} with m = ceil(out_ch/ratio) = {mm}; cheap depthwise: "
                             f"{d}*{d}*m*(ratio-1) = {d * d * mm * (ratio - 1)} (groups = m)",
                   "macs": "both convolutions keep the resolution (stride 1, 'same' padding)"})
        # locality: a change at one pixel moves the intrinsic maps at that pixel only, the ghosts within dw_kernel // 2
        ci, cj = h // 2, w // 2
        x2 = x.clone()
        x2[:, :, ci, cj] += 3.0
        diff = (_run(m, x2, what) - y).abs()[0] > 1e-6             # (C, H, W)
        far = torch.ones(h, w, dtype=torch.bool)
        far[ci, cj] = False
        if diff[:min(mm, cout)][:, far].any():
            raise AssertionError(f"{what}: the first m = {mm} output channels (the intrinsic maps of a 1x1 conv) changed "
                                 f"away from the pixel whose input changed. Hint: concatenate intrinsic maps first, then ghosts")
        r = d // 2
        window = torch.zeros(h, w, dtype=torch.bool)
        window[ci - r:ci + r + 1, cj - r:cj + r + 1] = True
        if cout > mm and diff[mm:][:, ~window].any():
            raise AssertionError(f"{what}: a ghost channel changed outside the {d}x{d} window of the changed pixel: "
                                 f"ghosts must be computed from the intrinsic maps by one depthwise {d}x{d} conv")
    print(f"✓ ghost_module: shapes, m·C_in + d²·m·(s-1) weights, MACs, and intrinsic-then-ghost locality on {cases} random configurations")


# ---------------------------------------------------------------- 6. Sandglass
def _check_linear_reduction(fn, name, kw, x, mid, out_ch, what):
    """The 1x1 expansion (mid -> out_ch) must receive negative values for some seeded weight draw:
    an activation after the 1x1 reduction would make its input never negative."""
    g = torch.Generator().manual_seed(len(what) * 104729 + x.numel())
    for _ in range(8):
        m = _build(fn, name, *kw)
        expand = _one_conv(m, lambda c: c.kernel_size == (1, 1) and c.groups == 1
                           and c.in_channels == mid and c.out_channels == out_ch)
        if expand is None:          # another layout (the weights and MACs already hold): nothing to hook
            return
        _randomize(m, g)
        if _input_min(m, expand, x, what) < 0:
            return
    raise AssertionError(f"{what}: the 1x1 expansion never receives a negative value: an activation follows the 1x1 "
                         f"reduction. The reduction to in_ch // reduction = {mid} channels must stay linear (BN, no ReLU6): "
                         f"a ReLU in the narrow bottleneck destroys information (MobileNeXt, Zhou et al. 2020)")


def check_sandglass(sandglass, cases: int = 24) -> None:
    """``sandglass(in_ch, out_ch, stride, reduction, kernel) -> nn.Module``: depthwise kxk
    (ReLU6) -> linear 1x1 to in_ch // reduction -> 1x1 to out_ch (ReLU6) -> linear depthwise
    kxk with the stride, plus the input when stride == 1 and in_ch == out_ch (MobileNeXt)."""
    rng = hidden_rng(107)
    for i, (cin, cout, s, k, h, w) in enumerate(_configs(rng, cases, same_share=0.5)):
        t = rng.choice([2, 4, 6])
        cin = max(cin, t)
        what = f"case {i}: sandglass({cin}, {cout}, stride={s}, reduction={t}, kernel={k}) on {h}x{w}"
        kw = (cin, cout, s, t, k)
        m = _build(sandglass, "sandglass", *kw)
        mid, ho, wo = cin // t, _out(h, s), _out(w, s)
        x = torch.randn(2, cin, h, w)
        _check_shape_params_macs(
            m, x, what, cout, s,
            want_weights=k * k * cin + cin * mid + mid * cout + k * k * cout,
            want_macs=h * w * (k * k * cin + cin * mid + mid * cout) + ho * wo * k * k * cout,
            hints={"params": f"depthwise k*k*in_ch = {k * k * cin}, reduce in_ch*mid = {cin * mid} (mid = in_ch // reduction = {mid}), "
                             f"expand mid*out_ch = {mid * cout}, depthwise k*k*out_ch = {k * k * cout}",
                   "macs": "only the last depthwise convolution has the stride"})
        _check_residual_and_linear(sandglass, "sandglass", kw, x, s == 1 and cin == cout, what)
        _check_linear_reduction(sandglass, "sandglass", kw, x, mid, cout, what)
    print(f"✓ sandglass: shapes, weights, MACs, the residual exactly when shapes allow, and a linear last layer "
          f"on {cases} random configurations")
