"""labkit: the library behind the compression lab's notebooks.

The map. The shared core sits at the top; each notebook topic has a folder of its own.

- Core (any topic may import it; it imports no topic):
  ``env`` (seed, threads, device: ``setup``), ``paths``, ``validate`` (one-line errors),
  ``verify`` (numbers that depend on the CPU: printed with ``≈``, checked by value),
  ``data`` (Fashion-MNIST and its named, disjoint subsets), ``blocks`` and ``models``, ``zoo``
  (shipped checkpoints), ``layers`` (find and replace Conv2d/Linear, fold BatchNorm), ``train``,
  ``metrics`` (parameters, MACs, latency), ``size`` and ``packing`` (bytes under any storage
  plan, and the real export that proves them; ``coding``: entropy coders), ``points`` (the
  one point and measuring path), ``cache`` (every cached sweep: ``python -m labkit sweep``),
  ``record`` (the results record and the technique vocabulary), ``allocate`` (sensitivity
  tables and greedy budget allocation), ``deploy`` (ONNX Runtime), ``ui`` (plots, widgets:
  the only place, with the topics' ``widgets.py``, that imports ipywidgets), ``checks``
  (the exercises' checks), ``tools`` (student edition, benchmark).
- Topics, one per notebook, each the same inside: tensor math → model transforms →
  ``sweep.py`` → ``figures.py`` → ``widgets.py``; its ``__init__`` is the notebook's one
  import: ``compact`` (00, 01), ``pruning`` (02), ``quantization`` (03), ``distillation`` (05).
  A topic imports the core and, where it builds on one, an earlier topic (never the reverse).
"""
__version__ = "0.2.0"

from .env import setup, current_device  # noqa: E402,F401
