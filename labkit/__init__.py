"""labkit: the library behind the compression lab's notebooks.

Modules, one idea each: ``data`` (Fashion-MNIST), ``models`` and ``blocks``, ``train``,
``zoo`` (shipped checkpoints), ``metrics`` (params, MACs, latency), ``size`` (bytes under
a storage format), ``quant``, ``record`` (the results record), ``widgets``, ``checks``,
``trend`` (torchvision's ImageNet models: metadata, latency) and ``compact`` (the compact-net
sweep and its explorer).
"""
__version__ = "0.1.0"

from .env import setup, current_device  # noqa: E402,F401
