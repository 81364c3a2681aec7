"""labkit: the library behind the compression lab's notebooks.

The map. The shared core sits at the top; each notebook topic has a folder of its own.

- Core: every module directly in ``labkit/``. Any topic may import it; it imports no topic, and
  no ``ui``, ``checks`` or ``tools``, not even inside a function, and nothing in labkit imports
  in a circle (``tests/test_imports.py``; ``python -m labkit.tools.imports`` prints the graph).
  ``env`` (seed, threads, device: ``setup``; a figure as the PNG a cell shows), ``version``,
  ``paths``, ``validate`` (one-line errors), ``verify`` (numbers that depend on the CPU: printed
  with ``≈``, checked by value), ``data`` (Fashion-MNIST and its named, disjoint subsets),
  ``blocks`` and ``models``, ``zoo`` (shipped checkpoints), ``layers`` (find and replace
  Conv2d/Linear, fold BatchNorm), ``train``, ``metrics`` (parameters, MACs, latency), ``timing``
  (the one timing protocol) and ``verdict`` (its results in words), ``quant`` (quantisation math
  on tensors), ``plan`` (storage plans: ``Storage``, ``Plan``, presets, the byte layout),
  ``size`` (bytes under a plan), ``packing`` (the real export, load and write that prove them),
  ``coding`` (entropy coders), ``points`` (the one point and measuring path), ``record`` (the
  results record and the technique vocabulary), ``cache`` (every cached sweep:
  ``python -m labkit sweep``), ``manifests`` (each topic's data-only ``manifest.py``, parsed,
  never imported: the tables of ``cache``, ``record``, ``zoo`` and ``ui.catalogue`` are built
  from them), ``pareto`` (fronts and hypervolume), ``text`` (text tables and
  number formats), ``allocate`` (sensitivity tables and greedy budget allocation), ``deploy``
  (the deployed fp32 baseline, ONNX Runtime), ``profiling`` (where a forward pass spends its time).
- Not core, not topics: ``ui`` (plots, widgets: the only place, with the topics' ``widgets.py``,
  that imports ipywidgets; ``ui.catalogue`` lists every topic's widgets), ``checks`` (the
  exercises' checks), ``tools`` (student edition, slides, benchmark, baselines, import graph).
- Topics, one per notebook, each the same inside: tensor math → model transforms →
  ``sweep.py`` → ``figures.py`` → ``widgets.py``; its ``__init__`` is the notebook's one
  import: ``compact`` (00, 01), ``pruning`` (02), ``quantization`` (03), ``binarization`` (04),
  ``distillation`` (05), ``lowrank`` (06), ``nas`` (07), ``joint`` (08), ``explorer`` (09),
  ``harm`` (10). A topic imports the core and, where it builds on one, an earlier topic (never
  the reverse). Its ``manifest.py`` registers what it adds to the shared tables; the
  "module:function" strings there (a sweep's recipe and view, a widget's builder, the VAE's
  trainer) are imported only when that entry is used, so they are no import of the core's.
"""
from .version import __version__  # noqa: F401
from .env import setup, current_device  # noqa: E402,F401
