"""Speed verdicts of pruned models: ``labkit.verdict.speed`` on ``labkit.points.speedup_of``, aware
that a fine-grained or 2:4 model on dense kernels runs its reference's own computation."""
from __future__ import annotations

from .. import points, verdict


def speed_verdict(point, reference) -> str:
    """The printed speed verdict of ``point`` against ``reference`` (both from one ``points.measure``
    run): "faster (…)", "slower (…)" or "within noise (…)". A model that runs the same kernels on
    the same shapes as its reference (``points.computation``: fine-grained zeros and 2:4 masks on
    dense kernels) can only differ by noise, so its verdict is "within noise" whatever the interval,
    and says why."""
    sp = points.speedup_of(point, reference)
    if sp is None:
        raise ValueError("the two points were not timed together: measure them in one points.measure call")
    if sp.get("same_computation"):
        return verdict.speed({**sp, "within_noise": True}) + ": the same computation as its reference"
    return verdict.speed(sp)
