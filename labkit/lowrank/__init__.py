"""Low-rank factorization (notebook 06): SVD of linear layers, Tucker-2 and CP of convolutions,
ranks chosen by energy, sensitivity and measured latency. ``from labkit import lowrank`` is the
notebook's one import.

Inside, from tensors to models to measurements: ``factor`` (SVD, energy, Tucker-2 by HOSVD/HOOI,
CP by ALS: pure tensor math) → ``layers`` (factorized layers and ``factorize``) → ``select``
(rank selection by energy, sensitivity scan via ``labkit.allocate``, and measured per-layer
latency) → ``sweep`` (the cached fine-tuning sweep and the thin baseline) → ``figures`` →
``widgets``.
"""
from .. import lazy
from .factor import (break_even_rank, cp_als, cp_diverged, cp_full, energy, mode_energy, rank_for_energy,  # noqa: F401
                     relative_error, singular_values, svd_error, svd_factors, tucker2, tucker2_full, unfold)
from .figures import error_figure, spectrum_figure, speedup_figure  # noqa: F401
from .layers import cp_conv, factored, factorize, params_factored, ranks_of, svd_linear, tucker_conv  # noqa: F401
from .select import (FRACTIONS, break_even, energy_ranks, latency_ranks, layer_inputs, layer_scan,  # noqa: F401
                     scan_table, sensitivity_ranks)
from .sweep import (CP_RANKS, ENERGY_KEEP, EPOCHS, FC_RANK, FT_LR, SEEDS, TECHNIQUE, build, conv_names, load_sweep,  # noqa: F401
                    parse, plain, plans, sweep, thin_width)

# The widgets load on first use, so importing this topic (a sweep recipe, a CLI) never pulls in
# ipywidgets: only the ui layer and the topics' widgets.py import it.
_WIDGETS = ("dashboard",)


__getattr__ = lazy.attributes(__name__, widgets=_WIDGETS)
