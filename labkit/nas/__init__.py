"""Neural architecture search (notebook 07): ``from labkit import nas`` is the notebook's import.

Inside: ``space`` (the block-config table as a search space: sample, mutate, size) →
``latency`` (the per-block latency lookup table, validated end to end against a FLOPs fit) →
``truth`` (the ground-truth sweep: architectures trained briefly over two seeds) → ``proxies``
(zero-cost and convergence proxies) and ``rank`` (Kendall tau, bootstrap, partial tau) →
``search`` (random vs NSGA-II on Optuna, SQLite storage) → ``figures`` → ``widgets``.
"""
from . import latency, proxies, rank, search, space, truth  # noqa: F401
from .figures import error_histogram, proxy_cost_figure, search_figure  # noqa: F401

_WIDGETS = ("budget_explorer", "gt_points", "budgets_of")


def __getattr__(name: str):
    if name in _WIDGETS:
        from . import widgets
        return getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
