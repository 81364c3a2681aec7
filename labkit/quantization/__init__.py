"""Quantization (notebook 03): fewer bits per weight and activation, simulated, then real int8.
``from labkit import quantization`` is the notebook's one import.

Inside: ``quant`` (linear and k-means quantization of tensors: the math, which lives in the core
as ``labkit.quant``) → ``ptq`` (models:
quantize after training, count the bytes) → ``qat`` (quantization-aware training) → ``mixed``
(bits per layer under a size budget, on the shared ``labkit.allocate``) → the cached sweeps
(``sweep``: PTQ, QAT and mixed precision) → ``figures``. Real int8 kernels run through
ONNX Runtime: ``labkit.deploy``.
"""
from ..layers import fold_batchnorm  # noqa: F401
from . import ptq  # noqa: F401
from .figures import (bits_figure, channel_ranges_figure, grid_figure, sensitivity_figure, sqnr_db,  # noqa: F401
                      ste_figure)
from .mixed import allocate_bits, average_bits, budget_bytes, budget_point, layer_bytes, sensitivity  # noqa: F401
from .ptq import QuantLayer, layer_labels, layer_names, quant_layers, quantize_model, share_weights  # noqa: F401
from .qat import quantization_aware_training  # noqa: F401
from .sharing import bake_, share_  # noqa: F401
from .sweep import load_mixed, load_ptq, load_qat, sweep_mixed, sweep_ptq, sweep_qat  # noqa: F401
from .quant import (GRANULARITIES, RANGE_METHODS, SCHEMES, dequantize, fake_quantize,  # noqa: F401
                    fake_quantize_ste, kmeans_codebook, qparams, qrange, quantize, quantize_symmetric,
                    tensor_range)
