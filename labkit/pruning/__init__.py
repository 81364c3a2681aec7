"""Pruning (notebook 02): zero single weights, N:M groups, or remove whole channels, and
measure what it buys. ``from labkit import pruning`` is the notebook's one import.

Inside, from tensors to models to measurements: ``masks`` (magnitude and N:M masks,
fine-tuning with the mask held, iterative pruning) → ``granularity`` (what is removed together)
→ ``lottery`` (the lottery ticket hypothesis, tested) → ``importance`` (which channels: L1, BatchNorm scale, Taylor, random, and the one Torch-Pruning
adapter) → ``channels`` (structured pruning with Torch-Pruning) → ``criteria`` (the criteria's cached comparison) → ``sparse`` (CSR kernels and their break-even) → ``sweep`` (the measured
points and the cached sweep) → ``speed`` (speed verdicts that know a same-computation model) → ``figures`` → ``widgets``. The sensitivity scan and the
allocation it drives are the shared ``labkit.allocate``.
"""
from .. import lazy
from ..layers import get_layer, weighted_layers  # noqa: F401
from .channels import (FilterImportance, channel_counts, channel_prune, dependency_groups,  # noqa: F401
                       describe_group, filter_importance, remove_with_torch_pruning)
from . import criteria, granularity, lottery  # noqa: F401
from .figures import break_even_figure, sensitivity_figure, weight_histogram  # noqa: F401
from .sensitivity import SCAN_SPARSITIES, Scan, sensitivity_scan  # noqa: F401
from .masks import (apply_masks_, cubic_schedule, finetune_, global_magnitude_masks, iterative_prune_,  # noqa: F401
                    layer_table, magnitude_mask, magnitude_masks, n_pruned, nm_mask, nm_masks, sparsity_of,
                    weight_sparsity)
from .speed import speed_verdict  # noqa: F401
from .sparse import SparseLinear, break_even, kernel_table, sparse_linear_, sparse_vs_dense  # noqa: F401
from .sweep import (architecture, channel_point, fine_point, joint_point, load_sweep, retime, sweep,  # noqa: F401
                    time_live)

# The widgets load on first use, so importing this topic (a sweep recipe, a CLI) never pulls in
# ipywidgets: only the ui layer and the topics' widgets.py import it.
_WIDGETS = ("dashboard",)


__getattr__ = lazy.attributes(__name__, widgets=_WIDGETS)
