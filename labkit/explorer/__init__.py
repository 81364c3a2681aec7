"""The trade-off explorer (notebook 09): every results record in one view, each point against the
baseline of its own run.

``records`` (read every ``notebooks/results/*.jsonl``, families from technique names, ratios vs
the same-run baseline) → ``pareto`` (fronts per family, hypervolume, constraint query) →
``audit`` (Kendall tau between params, MACs, bytes and latencies: the efficiency misnomer) →
``compose`` (joint results vs the product of single-technique gains) → ``remeasure`` (one
rebuilt model per family, timed side by side in one run) → ``widgets``.
"""
from .audit import audit, disagreements, kendall_tau, record_points, table, worst_pairs  # noqa: F401
from .compose import compose, parts, report, verdict  # noqa: F401
from .pareto import AXES, CHANCE_PCT, corner, front, fronts, hypervolume, query  # noqa: F401
from . import records  # noqa: F401
from .records import at_batch, entry, families, family_of, load, reference_folder, summary  # noqa: F401
from .remeasure import REBUILD, audit_points, record_, remeasure, representatives  # noqa: F401

_WIDGETS = ("explorer", "remeasure_live")


def __getattr__(name: str):
    if name in _WIDGETS:
        from . import widgets
        return getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
