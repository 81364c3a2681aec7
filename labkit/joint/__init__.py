"""Joint compression (notebook 08): Deep Compression (prune -> share -> entropy-code) into a real
file, entropy coders against the Shannon bound, ADMM pruning, and multi-level joint pruning.
``from labkit import joint`` is the notebook's one import.

Inside, from tensors to models to files: ``share_`` (k-means weight sharing with centroid fine-tuning, from ``labkit.quantization.sharing``)
→ ``budget`` (per-layer sparsity and bits under a byte budget, on ``labkit.allocate``) →
``pipeline`` (the whole Deep Compression chain, stage sizes) → ``fileformat`` (the compressed
file: write, read, rebuild) → ``coders`` (Huffman, rANS, zstd, brotli vs the entropy bound) →
``admm`` → ``multilevel`` (channels + weights + bits; CSR kernels) → ``sweep`` (cached runs) →
``widgets``.
"""
from .. import lazy
from .budget import BITS, SPARSITIES, allocation, gap_bits, option_bytes, options, pareto, scan  # noqa: F401
from .budget import parse as parse_allocation, plain as plain_allocation  # noqa: F401
from .coders import available as available_coders, compare as compare_coders, entropy_bits, entropy_bound  # noqa: F401
from .fileformat import decode, encode, from_bytes, read, round_vectors_, streams, write  # noqa: F401
from .pipeline import compress, fit_allocation, one_shot_bytes, stages, vector_bytes  # noqa: F401
from ..quantization.sharing import bake_, distinct_values, share_  # noqa: F401
from .sweep import file_of, load_admm, load_dc, sweep_admm, sweep_dc, template  # noqa: F401

from .figures import residual_figure  # noqa: F401

_WIDGETS = ("dashboard", "prepare", "waterfall_figure")


__getattr__ = lazy.attributes(__name__, widgets=_WIDGETS)
