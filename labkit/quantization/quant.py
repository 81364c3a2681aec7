"""Quantisation math on tensors, notebook 03's name for it: the module lives in the core as
``labkit.quant`` (``labkit.size`` and ``labkit.packing`` count and write its codes, and the core
imports no topic); every ``labkit.quantization.quant.X`` is ``labkit.quant.X``."""
from ..quant import *  # noqa: F401,F403
from ..quant import (GRANULARITIES, RANGE_METHODS, SCHEMES, _FakeQuantSTE, _along, _check_dim,  # noqa: F401
                     _expand, _fq, _nearest, _rows, dequantize, dequantize_symmetric, fake_quantize,
                     fake_quantize_ste, kmeans_codebook, linear_bits, qparams, qrange, quantize,
                     quantize_symmetric, tensor_range)
