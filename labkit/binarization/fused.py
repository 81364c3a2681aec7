"""The XNOR–popcount kernel compiled: one pass from real inputs to the layer's float outputs.

``kernels.xnor_popcount`` is the readable numpy version: each numpy call costs about a
microsecond of overhead and writes a temporary array, so at batch 1 five calls cost more than
the arithmetic. Here numba (LLVM) compiles the same three steps into one loop nest, as a C
kernel would: binarize and pack the input (``x >= 0`` -> bit 1), XOR with the packed weight
words and count the ones with the CPU's popcount instruction (``llvm.ctpop``), and finish
``float32(k - 2 * popcount) * alpha + bias`` with the same two float32 roundings as the
training layer, so the outputs are bit-identical to it.

``available()`` says whether numba is installed; without it ``labkit.binarization`` runs the
numpy kernels (same results, slower). Everything compiles on first use (a second or two, once
per process; numba caches it on disk).
"""
from __future__ import annotations

import numpy as np

try:
    import numba
    from numba import types
    from numba.extending import intrinsic
except ImportError:                                    # the numpy kernels stay available
    numba = None


def available() -> bool:
    """Whether the compiled kernels can run here (numba is installed)."""
    return numba is not None


if numba is not None:
    @intrinsic
    def _popcount64(typingctx, word):
        """The CPU's population count of one uint64 (LLVM's ``ctpop`` intrinsic)."""
        def codegen(context, builder, signature, args):
            return builder.ctpop(args[0])
        return types.uint64(types.uint64), codegen

    @numba.njit(cache=True, nogil=True)
    def _pack_rows(x, out):
        """Rows of real ``x`` ``(M, k)`` -> packed sign bits ``out`` ``(M, words)`` (bit 1 where x >= 0)."""
        m, k = x.shape
        for r in range(m):
            for w in range(out.shape[1]):
                word = np.uint64(0)
                for b in range(min(64, k - 64 * w)):
                    if x[r, 64 * w + b] >= 0:
                        word |= np.uint64(1) << np.uint64(b)
                out[r, w] = word

    @numba.njit(cache=True, nogil=True)
    def _pack_patches(x, kh, kw, sh, sw, ph, pw, ho, wo, out):
        """im2col of the sign bits of ``x`` ``(B, C, H, W)``, padded with the bit 0 (= -1), in the
        order ``(C, kh, kw)`` of ``weight.reshape(out, -1)``: ``out`` ``(B * ho * wo, words)``."""
        bsz, c, h, w_ = x.shape
        for bi in range(bsz):
            for oy in range(ho):
                for ox in range(wo):
                    row = (bi * ho + oy) * wo + ox
                    for wd in range(out.shape[1]):
                        out[row, wd] = np.uint64(0)
                    i = 0
                    for ci in range(c):
                        for dy in range(kh):
                            y = oy * sh - ph + dy
                            for dx in range(kw):
                                xx = ox * sw - pw + dx
                                if 0 <= y < h and 0 <= xx < w_ and x[bi, ci, y, xx] >= 0:
                                    out[row, i >> 6] |= np.uint64(1) << np.uint64(i & 63)
                                i += 1

    @numba.njit(cache=True, nogil=True)
    def _xnor_gemm(xw, ww, k, alpha, bias, has_bias, out):
        """``out[m, n] = float32(k - 2 * popcount(xw[m] ^ ww[n])) * alpha[n] (+ bias[n])``."""
        m, words = xw.shape
        n = ww.shape[0]
        for r in range(m):
            for j in range(n):
                acc = np.uint64(0)
                for w in range(words):
                    acc += _popcount64(xw[r, w] ^ ww[j, w])
                y = np.float32(k - 2 * np.int64(acc)) * alpha[j]
                out[r, j] = y + bias[j] if has_bias else y


def _require() -> None:
    if numba is None:
        raise RuntimeError("the compiled XNOR kernels need numba: pip install numba (or use labkit.binarization.kernels)")


def weight_rows(words_t: np.ndarray) -> np.ndarray:
    """The packed weight ``(words, N)`` of ``kernels.weight_words`` as contiguous rows ``(N, words)``."""
    return np.ascontiguousarray(words_t.T)


def linear(x: np.ndarray, ww: np.ndarray, k: int, alpha: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """A binarized linear layer on real ``x`` ``(B, k)``: float32 ``(B, N)``, bit-identical to the
    training layer; ``ww`` ``(N, words)`` packed weight rows, ``alpha`` ``(N,)`` float32."""
    _require()
    x = np.ascontiguousarray(x, dtype=np.float32)
    xw = np.empty((x.shape[0], ww.shape[1]), np.uint64)
    _pack_rows(x, xw)
    out = np.empty((x.shape[0], ww.shape[0]), np.float32)
    _xnor_gemm(xw, ww, k, alpha, alpha if bias is None else bias, bias is not None, out)
    return out


def conv2d(x: np.ndarray, ww: np.ndarray, k: int, alpha: np.ndarray, bias: np.ndarray | None,
           kernel, stride, padding) -> np.ndarray:
    """A binarized conv (groups 1, dilation 1) on real ``x`` ``(B, C, H, W)``, input padded with -1:
    float32 ``(B, Ho, Wo, N)`` (channels last), bit-identical to the training layer."""
    _require()
    x = np.ascontiguousarray(x, dtype=np.float32)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho = (x.shape[2] + 2 * ph - kh) // sh + 1
    wo = (x.shape[3] + 2 * pw - kw) // sw + 1
    cols = np.empty((x.shape[0] * ho * wo, ww.shape[1]), np.uint64)
    _pack_patches(x, kh, kw, sh, sw, ph, pw, ho, wo, cols)
    out = np.empty((cols.shape[0], ww.shape[0]), np.float32)
    _xnor_gemm(cols, ww, k, alpha, alpha if bias is None else bias, bias is not None, out)
    return out.reshape(x.shape[0], ho, wo, ww.shape[0])
