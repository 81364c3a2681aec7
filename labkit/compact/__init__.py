"""Compact network design (notebooks 00 and 01): the trend from AlexNet to EfficientNet, the
building blocks, and compact nets for Fashion-MNIST. ``from labkit import compact`` is the
notebooks' one import.

Inside: ``trend`` (torchvision's models: metadata, activation memory, cached latency) and
``trend_figures``; ``width`` (notebook 00's width sweep over zoo checkpoints); ``sweep``
(block x width x resolution, cached) → ``figures`` → ``widgets``. The blocks themselves are
the shared ``labkit.blocks`` (the zoo builds its compact nets from them).
"""
from .. import lazy
from . import trend  # noqa: F401
from .figures import blocks_figure, blocks_table, compare_blocks  # noqa: F401
from .sweep import PARAMS, grid, load_sweep, retime, sweep, sweep_model, train_point  # noqa: F401
from .trend_figures import latency_figure, scatter_figure, trend_figure  # noqa: F401
from .width import compact_width_sweep, train_compact_width  # noqa: F401

# The widgets load on first use, so importing this topic (a sweep recipe, a CLI) never pulls in
# ipywidgets: only the ui layer and the topics' widgets.py import it.
_WIDGETS = ("sweep_explorer",)


__getattr__ = lazy.attributes(__name__, widgets=_WIDGETS)
