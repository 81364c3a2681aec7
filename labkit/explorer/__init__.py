"""The trade-off explorer (notebook 09): every results record in one view, each point against the
baseline of its own run.

``records`` (read every ``notebooks/results/*.jsonl``, families from technique names, ratios vs
the same-run baseline, speeds like for like with their intervals) → ``pareto`` (fronts per
family, hypervolume, constraint query; latency only as a ratio to each point's own baseline) →
``audit`` (Kendall tau between params, MACs, bytes and latencies: the efficiency misnomer) →
``compose`` (joint results vs the product of single-technique gains) → ``remeasure`` (one
rebuilt model per family: eager vs eager in one run, deployed vs deployed in another) → ``widgets``.
"""
from .. import lazy
from .audit import audit, disagreements, kendall_tau, record_points, table, worst_pairs  # noqa: F401
from .compose import compose, parts, report, verdict  # noqa: F401
from .pareto import AXES, CHANCE_PCT, corner, front, fronts, hypervolume, one_run, query, timed  # noqa: F401
from . import records  # noqa: F401
from .records import at_batch, entry, families, family_of, like_for_like, load, reference_folder, speedup_text, summary  # noqa: F401
from .remeasure import REBUILD, as_entries, audit_points, record_, remeasure, representatives, side_by_side  # noqa: F401

_WIDGETS = ("explorer", "remeasure_live")


__getattr__ = lazy.attributes(__name__, widgets=_WIDGETS)
