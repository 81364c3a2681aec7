"""Neural architecture search (notebook 07): ``from labkit import nas`` is the notebook's import.

Inside: ``space`` (the block-config table as a search space: sample, mutate, size) →
``latency`` (the per-block latency lookup table, validated end to end against a FLOPs fit) →
``truth`` (the ground-truth sweep: architectures trained briefly over two seeds) → ``proxies``
(zero-cost and convergence proxies) and ``rank`` (Kendall tau, bootstrap, partial tau) →
``search`` (random vs NSGA-II on Optuna, SQLite storage) → ``ofa`` (Once-for-All: an elastic supernet,
subnets extracted without retraining) → ``figures`` → ``widgets``.
"""
from .. import lazy
from . import latency, ofa, proxies, rank, search, space, truth  # noqa: F401
from .figures import error_histogram, proxy_cost_figure, search_figure, supernet_figure  # noqa: F401

_WIDGETS = ("budget_explorer", "gt_points", "budgets_of")


__getattr__ = lazy.attributes(__name__, widgets=_WIDGETS)


def write_findings(findings: dict, name: str = "07_nas_findings.json"):
    """Write the notebook's findings (``{"proxies": ..., "latency_lut": ..., "ground_truth": ...}``)
    as JSON next to its results record (``labkit.paths.results_dir()``), atomically; returns the path."""
    import math

    from ..cache import write
    from ..paths import results_dir

    def plain(v):      # NaN (e.g. the partial tau of params given params) is not JSON: null
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return float(v) if hasattr(v, "__float__") and not isinstance(v, (int, bool)) else v
    return write(plain(findings), results_dir() / name)
