"""Post-training quantization (PTQ) of a model: simulate ``bits``-bit weights and activations
with calibrated ranges, share weights by k-means, and count the bytes honestly.

Steps of ``quantize_model``: fold BatchNorm (``labkit.layers``); wrap every Conv2d/Linear in a
``QuantLayer`` (weights fake-quantized per output channel, symmetric; inputs per tensor,
affine, when ``act_bits`` is set); calibrate activation ranges on training images
(``minmax``, ``percentile`` or ``mse``); freeze the quantized weights. ``bits`` is one number
or ``{layer: bits}`` (mixed precision). ``size_bytes`` / ``export`` / ``load`` count and write
what a deployment stores.
"""
from __future__ import annotations

import copy
import torch
from torch import nn
from . import quant
from .. import packing, size, validate
from ..data import SUBSETS
from ..layers import WEIGHTED, fold_batchnorm, replace_


CALIB_IMAGES = SUBSETS["calibration"][1] - SUBSETS["calibration"][0]      # 512


RANGE_REFRESH = 10         # in training, search the weight's clipping ratio every this many forwards


_SAMPLE = 2 ** 18          # values kept per calibration batch for percentile / mse ranges


def _check_bits(bits):
    return None if bits is None else quant.linear_bits(bits, "symmetric")


class QuantLayer(nn.Module):
    """A Conv2d or Linear computing with fake-quantised weights and (optionally) inputs.

    - weight: ``weight_bits`` symmetric codes, one scale per output channel (``granularity="channel"``)
      or one for the layer (``"tensor"``), range by ``method``. While not ``frozen`` (QAT) the weight
      is re-quantised at every forward with the straight-through estimator; in training mode the
      ``percentile`` / ``mse`` clipping ratio (range / min-max range) is searched every
      ``RANGE_REFRESH`` forwards and applied to the current min/max in between (the search costs as
      much as the layer). ``freeze_()`` stores the quantised values in ``layer.weight`` once and for
      all (then the stored weight *is* the model).
    - input: ``act_bits`` affine codes per tensor with the calibrated ``act_scale`` / ``act_zero_point``
      (stored fp32 buffers); ``observing=True`` records input statistics instead of quantising.
    """

    def __init__(self, layer: nn.Module, weight_bits: int | None = 8, act_bits: int | None = None,
                 method: str = "minmax", granularity: str = "channel"):
        super().__init__()
        if not isinstance(layer, WEIGHTED):
            raise TypeError(f"QuantLayer wraps nn.Conv2d or nn.Linear, got {type(layer).__name__}")
        self.layer = layer
        self.weight_bits, self.act_bits = _check_bits(weight_bits), _check_bits(act_bits)
        self.method = validate.choice(method, quant.RANGE_METHODS, "range method")
        self.granularity = validate.choice(granularity, quant.GRANULARITIES, "granularity")
        self.frozen, self.observing = self.weight_bits is None, False
        self._seen: list[torch.Tensor] = []
        self._lo = self._hi = None
        self._ratio, self._calls = None, 0
        if self.act_bits is not None:
            self.register_buffer("act_scale", torch.tensor(1.0))
            self.register_buffer("act_zero_point", torch.tensor(0.0))

    def extra_repr(self) -> str:
        return (f"weight_bits={self.weight_bits}, act_bits={self.act_bits}, method={self.method!r}, "
                f"granularity={self.granularity!r}, frozen={self.frozen}")

    def weight_qparams(self, search: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scale, zero_point)`` of the weight now: per output channel (1-D) or per tensor (0-d).
        ``search=False`` reuses the last clipping ratio on the current min/max (see the class)."""
        w = self.layer.weight.detach()
        dim = 0 if self.granularity == "channel" else None
        lo0, hi0 = quant.tensor_range(w, "minmax", dim=dim)
        if self.method == "minmax":
            lo, hi = lo0, hi0
        elif search or self._ratio is None:
            lo, hi = quant.tensor_range(w, self.method, self.weight_bits, "symmetric", dim)
            amax = torch.maximum(-lo0, hi0)
            self._ratio = torch.where(amax > 0, torch.maximum(-lo, hi) / amax, torch.ones_like(amax))
        else:
            lo, hi = lo0 * self._ratio, hi0 * self._ratio
        scale, zp = quant.qparams(lo, hi, self.weight_bits, "symmetric")
        return (scale, zp) if dim == 0 else (scale.reshape(()), zp.reshape(()))

    def quantized_weight(self) -> torch.Tensor:
        """The fake-quantised weight (differentiable by the straight-through estimator)."""
        w = self.layer.weight
        if self.weight_bits is None:
            return w
        search = not self.training or self._calls % RANGE_REFRESH == 0
        self._calls += int(self.training)
        scale, zp = self.weight_qparams(search)
        shape = (-1,) + (1,) * (w.dim() - 1) if scale.dim() else ()
        qmin, qmax = quant.qrange(self.weight_bits, "symmetric")
        return quant.fake_quantize_ste(w, scale.to(w.device).reshape(shape), zp.to(w.device).reshape(shape), qmin, qmax)

    @torch.no_grad()
    def freeze_(self) -> "QuantLayer":
        """Store the quantised weight in ``layer.weight`` (idempotent); forward then uses it as is."""
        if not self.frozen:
            was = self.training
            self.eval()                                  # a fresh range search for the stored weight
            self.layer.weight.copy_(self.quantized_weight())
            self.train(was)
            self.frozen = True
        return self

    # -- activations --
    def _observe(self, x: torch.Tensor) -> None:
        x = x.detach().float()
        lo, hi = x.min(), x.max()
        self._lo = lo if self._lo is None else torch.minimum(self._lo, lo)
        self._hi = hi if self._hi is None else torch.maximum(self._hi, hi)
        flat = x.reshape(-1)
        self._seen.append(flat[:: max(1, flat.numel() // _SAMPLE)].cpu())

    @torch.no_grad()
    def set_act_range_(self) -> None:
        """Turn the observed inputs into ``act_scale`` / ``act_zero_point`` (by ``method``)."""
        if self.act_bits is None:
            return
        if self._lo is None:
            raise RuntimeError("no calibration data seen: run calibrate(model, ...) before using activation quantisation")
        if self.method == "minmax":
            lo, hi = self._lo.cpu(), self._hi.cpu()
        else:
            lo, hi = quant.tensor_range(torch.cat(self._seen), self.method, self.act_bits, "affine")
            lo, hi = lo.reshape(()), hi.reshape(())
        scale, zp = quant.qparams(lo, hi, self.act_bits, "affine")
        self.act_scale.copy_(scale.reshape(()))
        self.act_zero_point.copy_(zp.reshape(()).float())
        self._seen, self._lo, self._hi = [], None, None

    def act_range(self) -> tuple[float, float]:
        """The real input range ``[lo, hi]`` the calibrated activation codes cover."""
        if self.act_bits is None:
            raise ValueError("this layer keeps fp32 inputs (act_bits=None): it has no activation range")
        qmin, qmax = quant.qrange(self.act_bits, "affine")
        s, z = float(self.act_scale), float(self.act_zero_point)
        return (qmin - z) * s, (qmax - z) * s

    def forward(self, x):
        if self.act_bits is not None:
            if self.observing:
                self._observe(x)
            else:
                qmin, qmax = quant.qrange(self.act_bits, "affine")
                x = quant.fake_quantize_ste(x, self.act_scale, self.act_zero_point, qmin, qmax)
        if self.frozen:
            return self.layer(x)
        # the wrapped layer itself runs, with the fake-quantised weight swapped in (its hooks fire:
        # labkit.metrics counts its MACs), and the gradient flows to the fp32 weight straight through
        return torch.func.functional_call(self.layer, {"weight": self.quantized_weight()}, (x,), strict=False)


def layer_names(model: nn.Module) -> list[str]:
    """Names of the Conv2d / Linear layers that ``quantize_model`` quantises (after BN folding)."""
    return [n for n, m in model.named_modules() if isinstance(m, WEIGHTED)]


def layer_labels(model: nn.Module) -> dict[str, str]:
    """``{name: "Conv2d 1->32, 3x3, 288 weights"}`` for every layer ``layer_names`` lists."""
    out = {}
    for n, m in model.named_modules():
        m = m.layer if isinstance(m, QuantLayer) else m
        if isinstance(m, nn.Conv2d):
            k = "x".join(str(v) for v in m.kernel_size)
            out[n] = f"Conv2d {m.in_channels}->{m.out_channels}, {k}, {m.weight.numel():,} weights"
        elif isinstance(m, nn.Linear):
            out[n] = f"Linear {m.in_features}->{m.out_features}, {m.weight.numel():,} weights"
    return out


def quant_layers(model: nn.Module) -> dict[str, QuantLayer]:
    return {n: m for n, m in model.named_modules() if isinstance(m, QuantLayer)}


def _bits_for(bits, names: list[str]) -> dict[str, int | None]:
    if isinstance(bits, dict):
        unknown = sorted(set(bits) - set(names))
        if unknown:
            raise ValueError(f"unknown layer(s) {unknown} in bits: use layer names from ptq.layer_names(model): {names}")
        return {n: _check_bits(bits.get(n)) for n in names}
    b = _check_bits(bits)
    return {n: b for n in names}


def wrap(model: nn.Module, bits=8, act_bits: int | None = None, method: str = "minmax",
         granularity: str = "channel", fold: bool = True) -> nn.Module:
    """A copy of ``model`` (BatchNorm folded unless ``fold=False``) with every Conv2d/Linear in a
    ``QuantLayer`` (weights not yet frozen, activations not yet calibrated)."""
    model = fold_batchnorm(model) if fold else copy.deepcopy(validate.module(model))
    validate.choice(method, quant.RANGE_METHODS, "range method")
    validate.choice(granularity, quant.GRANULARITIES, "granularity")
    per_layer = _bits_for(bits, layer_names(model))
    for name, b in per_layer.items():
        replace_(model, name, QuantLayer(model.get_submodule(name), b, act_bits, method, granularity))
    return model


@torch.no_grad()
def calibrate(model: nn.Module, batches=None) -> nn.Module:
    """Observe the inputs of every activation-quantised ``QuantLayer`` on ``batches`` (default:
    the ``calibration`` images of ``labkit.data.SUBSETS``, training images 0-511) in one pass of the float
    activations, then set each layer's range by its ``method`` (as PyTorch's and ONNX Runtime's
    observers do)."""
    layers = [m for m in quant_layers(model).values() if m.act_bits is not None]
    was = model.training
    model.eval()
    for layer in layers:
        layer.observing = True
    try:
        from ..data import subset
        for x, *_ in (subset("calibration", 128) if batches is None else batches):
            model(x)
    finally:
        for layer in layers:
            layer.observing = False
        model.train(was)
    for layer in layers:
        layer.set_act_range_()
    return model


def freeze_(model: nn.Module) -> nn.Module:
    """Store every ``QuantLayer``'s quantised weight (see ``QuantLayer.freeze_``); in place."""
    for m in quant_layers(model).values():
        m.freeze_()
    return model


def quantize_model(model: nn.Module, bits=8, act_bits: int | None = None, method: str = "minmax",
                   granularity: str = "channel", batches=None) -> nn.Module:
    """Post-training quantisation: a new model (eval mode) computing with ``bits``-bit weights and,
    if ``act_bits`` is given, ``act_bits``-bit inputs to every Conv2d/Linear, ranges by ``method``.

    ``bits``: an int for every layer, or ``{layer name: bits or None}`` (``layer_names(fold_batchnorm(model))``).
    """
    q = wrap(model, bits, act_bits, method, granularity)
    freeze_(q)
    if act_bits is not None:
        calibrate(q, batches)
    return q.eval()


@torch.no_grad()
def share_weights(model: nn.Module, bits: int, iters: int = 20, fold: bool = False) -> nn.Module:
    """Deep Compression's weight sharing (Han et al., ICLR 2016): a copy whose every Conv2d/Linear
    weight is replaced by its nearest of ``2**bits`` k-means centroids (``labkit.quantization.quant.kmeans_codebook``,
    one codebook per layer). Store it as ``labkit.size``'s ``codebook`` format: the centroid table
    plus ``bits``-bit indices. BatchNorm stays a separate fp32 layer unless ``fold=True``: the shared
    weights are the convolution's own, as in the paper, and BatchNorm's per-channel factor then acts
    as a per-channel scale on the shared levels (folding it in first would make one codebook serve
    channels of very different ranges)."""
    model = fold_batchnorm(model) if fold else copy.deepcopy(validate.module(model)).eval()
    for name in layer_names(model):
        w = model.get_submodule(name).weight
        codebook, idx = quant.kmeans_codebook(w.detach().cpu(), bits, iters)
        w.copy_(codebook[idx].to(w.device))
    return model


# ---- honest size ---------------------------------------------------------------------------------

def _plan(model: nn.Module) -> size.Plan:
    """The storage plan of a quantised model: each quantised weight as ``labkit.size``'s ``nbit``
    (packed codes plus an fp32 scale per output channel), every other tensor fp32."""
    per_tensor = {}
    for n, m in quant_layers(model).items():
        if m.weight_bits is None:
            continue
        if not m.frozen:
            raise ValueError(f"layer {n!r} is not frozen: call ptq.freeze_(model) before counting or exporting its bytes")
        if m.granularity != "channel":
            raise ValueError(f"layer {n!r} is quantised per tensor; the stored format keeps one scale per output "
                             f"channel: count it with granularity='channel'")
        per_tensor[f"{n}.layer.weight"] = size.plan("nbit", m.weight_bits).weights
    return size.Plan(per_tensor=per_tensor)


def size_bytes(model: nn.Module) -> int:
    """Bytes a deployment stores for a quantised model (uniform or mixed bits): each quantised
    weight as packed ``bits``-bit codes plus an fp32 scale per output channel; everything else
    (biases, activation scales and zero-points, unquantised weights) as fp32. Equals ``len(export(model))``."""
    return size.size_bytes(model, _plan(model))


def export(model: nn.Module) -> bytes:
    """The real bytes behind ``size_bytes``: ``labkit.packing.export`` under the model's plan."""
    return packing.export(model, _plan(model))


def load(blob: bytes, model: nn.Module) -> dict:
    """Decode ``export(model)`` back into a state_dict for ``model`` (``labkit.packing.load`` under its plan)."""
    return packing.load(blob, model, _plan(model))
