"""A real XNOR–popcount kernel in numpy, and the packed model that runs it (compiled: ``fused``).

With both operands in {-1, +1} stored as bits (1 = +1, 0 = -1), a dot product of length ``k`` is

    sum_i x_i w_i = (#agree) - (#disagree) = k - 2 * popcount(xbits XOR wbits)

so 64 multiply-accumulates become one XOR and one popcount on a 64-bit word (``np.bitwise_count``,
numpy >= 2.0; the same instruction numba's or LLVM's ``ctpop`` emit). Rows are packed with
``np.packbits(bitorder="little")`` and zero-padded to whole uint64 words; a padding bit is 0 in
both operands, XOR 0, so it never counts, and ``k`` stays the true length.

A convolution is the same kernel on im2col patches: the input's bits are padded with the bit 0
(= -1, as ``layers.BinaryConv2d`` pads its +-1 input), cut into ``(C, kh, kw)`` patches (numpy's
``sliding_window_view``) and packed, in the order of ``weight.reshape(out, -1)``.

Only layers with binary weights *and* binary inputs (XNOR) can use it: a BWN or ternary layer
multiplies real activations, so it runs as a float op on its +-1 / {-1, 0, 1} codes (its storage
is still 1 or 2 bits). ``packed_model`` decodes a model from its exported bytes
(``storage.export``) and swaps each binarized layer for a ``PackedLinear`` / ``PackedConv2d``,
which run the same kernel compiled into one pass (``labkit.binarization.fused``, numba) when
numba is installed, and these numpy kernels otherwise.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn

from ..layers import replace_
from . import fused, storage
from .layers import BinaryConv2d, binary_layers

WORD = 64


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Rows of booleans ``(R, k)`` as ``(R, ceil(k / 64))`` uint64 words (bit 1 = +1, padding 0)."""
    b = np.packbits(np.asarray(bits, dtype=bool), axis=-1, bitorder="little")       # (R, ceil(k / 8))
    pad = (-b.shape[-1]) % 8
    if pad:
        b = np.pad(b, [(0, 0)] * (b.ndim - 1) + [(0, pad)])
    return np.ascontiguousarray(b).view(np.uint64)                                # (R, words)


def xnor_popcount(xw: np.ndarray, ww_t: np.ndarray, k: int, buffers: dict | None = None) -> np.ndarray:
    """``(B, N)`` int32 dot products of +-1 rows from packed words: ``xw`` ``(B, words)``,
    ``ww_t`` ``(words, N)`` (the weight's words transposed: the sum then runs over the short
    middle axis of contiguous rows), ``k`` the true row length. ``buffers``: a dict the caller
    keeps, so that repeated calls at one batch size reuse their temporaries (no allocation)."""
    shape = (xw.shape[0], *ww_t.shape)                                        # (B, words, N)
    key = (shape, "xor")
    if buffers is None or key not in buffers:
        tmp = (np.empty(shape, np.uint64), np.empty(shape, np.uint8), np.empty((shape[0], shape[2]), np.int32))
        if buffers is not None:
            buffers[key] = tmp
    else:
        tmp = buffers[key]
    words, counts, out = tmp
    np.bitwise_xor(xw[:, :, None], ww_t[None], out=words)                    # (B, words, N)
    np.bitwise_count(words, out=counts)
    np.add.reduce(counts, axis=1, dtype=np.int32, out=out)                    # (B, N): popcount of each row pair
    return k - 2 * out


def xnor_linear(x: np.ndarray, ww_t: np.ndarray, k: int, buffers: dict | None = None) -> np.ndarray:
    """``sign(x) @ sign(w).T`` as int32 ``(B, N)``: ``x`` real ``(B, k)`` (binarized here: ``x >= 0``)."""
    return xnor_popcount(pack_bits(np.asarray(x) >= 0), ww_t, k, buffers)


def im2col_bits(xbits: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                padding: tuple[int, int]) -> tuple[np.ndarray, int, int]:
    """Bits ``(B, C, H, W)`` -> packed patches ``(B * Ho * Wo, words)`` (padding with the bit 0), Ho, Wo."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xb = np.pad(xbits, ((0, 0), (0, 0), (ph, ph), (pw, pw)))                    # (B, C, H + 2p, W + 2p)
    win = sliding_window_view(xb, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]      # (B, C, Ho, Wo, kh, kw)
    b, c, ho, wo = win.shape[:4]
    patches = win.transpose(0, 2, 3, 1, 4, 5).reshape(b * ho * wo, c * kh * kw)  # (B*Ho*Wo, C*kh*kw)
    return pack_bits(patches), ho, wo


def xnor_conv2d(x: np.ndarray, ww_t: np.ndarray, k: int, kernel, stride=(1, 1), padding=(0, 0),
                buffers: dict | None = None, channels_last: bool = False) -> np.ndarray:
    """``conv2d(sign(x), sign(w))`` (padding with -1) as int32 ``(B, N, Ho, Wo)`` (``channels_last``:
    ``(B, Ho, Wo, N)``); ``x`` real ``(B, C, H, W)``."""
    x = np.asarray(x)
    cols, ho, wo = im2col_bits(x >= 0, kernel, stride, padding)
    out = xnor_popcount(cols, ww_t, k, buffers).reshape(x.shape[0], ho, wo, -1)  # (B, Ho, Wo, N)
    return out if channels_last else out.transpose(0, 3, 1, 2)                 # (B, N, Ho, Wo)


def weight_words(codes: torch.Tensor) -> np.ndarray:
    """A +-1 weight ``(N, ...)`` as transposed packed words ``(words, N)`` for ``xnor_popcount``."""
    rows = codes.detach().reshape(codes.shape[0], -1).cpu().numpy() >= 0
    return np.ascontiguousarray(pack_bits(rows).T)


class _Packed(nn.Module):
    """A binarized layer as deployed: codes (bits for XNOR), fp32 ``alpha`` per channel, bias."""

    def __init__(self, layer: nn.Module, stored_weight: torch.Tensor, stored_bias: torch.Tensor | None):
        super().__init__()
        w = stored_weight.detach().float()
        rows = w.reshape(w.shape[0], -1)
        self.kind, self.binary_input, self.k = layer.kind, layer.binary_input, rows.shape[1]
        self.register_buffer("alpha", rows.abs().amax(1))               # alpha * codes: |row| is alpha
        self.register_buffer("bias", None if stored_bias is None else stored_bias.detach().clone())
        codes = torch.where(w >= 0, 1.0, -1.0) if self.kind == "binary" else torch.sign(w)
        if self.binary_input:
            self.words_t = weight_words(codes)                           # (words, N) uint64: 1 bit a weight
            self.words = fused.weight_rows(self.words_t)                 # (N, words): the compiled kernel's rows
            self._alpha_np = self.alpha.numpy()
            self._bias_np = None if self.bias is None else self.bias.numpy()
            self._buffers: dict = {}
        else:
            self.register_buffer("codes", codes)                        # a float op on real inputs

    def _finish(self, y: torch.Tensor, shape) -> torch.Tensor:
        y = y * self.alpha.view(shape)
        return y if self.bias is None else y + self.bias.view(shape)

    def _finish_ints(self, ints: np.ndarray) -> np.ndarray:
        """``float32(ints) * alpha + bias`` along the last axis: the same two float32 roundings
        (multiply, then add) as the training layer's torch ops, so the outputs are bit-identical."""
        y = ints.astype(np.float32)
        np.multiply(y, self._alpha_np, out=y)
        if self._bias_np is not None:
            np.add(y, self._bias_np, out=y)
        return y


class PackedLinear(_Packed):
    def forward(self, x):
        if not self.binary_input:
            return self._finish(F.linear(x, self.codes), (1, -1))
        if fused.available():                       # one compiled pass: pack, XOR-popcount, scale
            return torch.from_numpy(fused.linear(x.detach().cpu().numpy(), self.words, self.k, self._alpha_np, self._bias_np))
        # without numba: xnor_linear + _finish_ints inlined: at batch 1 each numpy call costs ~1 us, as much as its work
        xb = np.packbits(x.detach().cpu().numpy() >= 0, axis=-1, bitorder="little")         # (B, ceil(k / 8))
        if xb.shape[1] % 8:
            xb = np.pad(xb, ((0, 0), (0, -xb.shape[1] % 8)))
        xw = xb.view(np.uint64)                                                              # (B, words)
        bufs = self._buffers.get(xw.shape[0])
        if bufs is None:
            shape = (xw.shape[0], *self.words_t.shape)                                        # (B, words, N)
            bufs = self._buffers[xw.shape[0]] = (np.empty(shape, np.uint64), np.empty(shape, np.uint8),
                                                 np.empty((shape[0], shape[2]), np.int32))
        words, counts, acc = bufs
        np.bitwise_xor(xw[:, :, None], self.words_t, out=words)
        np.bitwise_count(words, out=counts)
        np.add.reduce(counts, axis=1, dtype=np.int32, out=acc)                                # popcounts (B, N)
        y = acc.astype(np.float32)
        y *= -2.0
        y += self.k                                                                          # k - 2 popcount: exact
        y *= self._alpha_np
        if self._bias_np is not None:
            y += self._bias_np
        return torch.from_numpy(y)


class PackedConv2d(_Packed):
    def __init__(self, layer: BinaryConv2d, stored_weight, stored_bias):
        super().__init__(layer, stored_weight, stored_bias)
        if layer.groups != 1 or tuple(layer.dilation) != (1, 1):
            raise ValueError("the packed conv handles groups=1, dilation=1 only: binarize plain convolutions")
        self.kernel, self.stride, self.padding = tuple(layer.kernel_size), tuple(layer.stride), tuple(layer.padding)

    def forward(self, x):
        if not self.binary_input:
            return self._finish(F.conv2d(x, self.codes, None, self.stride, self.padding), (1, -1, 1, 1))
        if fused.available():
            y = fused.conv2d(x.detach().cpu().numpy(), self.words, self.k, self._alpha_np, self._bias_np,
                             self.kernel, self.stride, self.padding)                  # (B, Ho, Wo, N)
            return torch.from_numpy(y).permute(0, 3, 1, 2)
        ints = xnor_conv2d(x.detach().cpu().numpy(), self.words_t, self.k, self.kernel, self.stride, self.padding,
                           self._buffers, channels_last=True)                          # (B, Ho, Wo, N)
        return torch.from_numpy(self._finish_ints(ints)).permute(0, 3, 1, 2)          # (B, N, Ho, Wo)


def packed_layer(layer: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None) -> _Packed:
    """The packed form of a BinaryConv2d / BinaryLinear from its stored (decoded) weight and bias."""
    return (PackedConv2d if isinstance(layer, BinaryConv2d) else PackedLinear)(layer, weight, bias)


def packed_model(model: nn.Module, blob: bytes | None = None) -> nn.Module:
    """The deployed model, decoded from ``blob`` (default: ``storage.export(model)``, the real file):
    fp32 parts loaded from it, binarized layers as ``PackedLinear`` / ``PackedConv2d`` (XNOR layers
    run ``xnor_popcount``). Its predictions equal ``model``'s (eval mode) exactly."""
    blob = storage.export(model) if blob is None else blob
    state = storage.load_state(blob, model)
    net = copy.deepcopy(model).cpu().eval()
    net.load_state_dict(state)
    for name, layer in binary_layers(net).items():
        replace_(net, name, packed_layer(layer, state[f"{name}.weight"], state.get(f"{name}.bias")))
    return net.eval()


def xnor_matmul(x, w) -> np.ndarray:
    """``sign(x) @ sign(w).T`` (int32) by XNOR–popcount, from real ``x`` ``(B, k)`` and ``w`` ``(N, k)``."""
    w = torch.as_tensor(w)
    return xnor_linear(np.asarray(x), weight_words(w), w.shape[1])


def xnor_conv(x, w, stride: int = 1, padding: int = 0) -> np.ndarray:
    """``conv2d(sign(x), sign(w))`` (int32, input padded with -1) by XNOR–popcount on im2col patches."""
    w = torch.as_tensor(w)
    return xnor_conv2d(np.asarray(x), weight_words(w), w[0].numel(), tuple(w.shape[2:]), (stride, stride),
                       (padding, padding))
