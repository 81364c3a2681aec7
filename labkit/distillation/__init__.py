"""Knowledge distillation (notebook 05): a small student learns from a teacher's outputs.
``from labkit import distillation`` is the notebook's one import.

Inside: ``losses`` (soft targets, the KD loss, attention maps: pure tensor functions) →
``teacher`` (the teacher's outputs cached, the training objectives) → ``students`` (students
on a data budget, recovering a pruned network) → ``sweep`` (the cached sweeps over seeds and
their tables) → ``widths`` (students of several widths: alone, label smoothing, KD) →
``figures`` → ``widgets``.
"""
from .. import lazy
from .figures import CONFUSABLE, describe_temperature, sweep_figure, temperature_figure  # noqa: F401
from .losses import CNN_STAGES, FeatureTaps, attention_loss, attention_map, kd_loss, soft_targets  # noqa: F401
from .students import (RECOVER_METHODS, VAL_START, Budget, make_student, prune_copy, recover_,  # noqa: F401
                       remove_masks_, teacher_cache, train_student, validation_accuracy, validation_batches)
from .sweep import (RECOVER_SPARSITY, SWEEP_SEEDS, best, live_run, load_sweeps, mean_std, run_sweep,  # noqa: F401
                    sweep, sweep_rows, sweep_text)
from .teacher import TeacherCache, attention_objective, kd_objective, smoothing_objective  # noqa: F401
from . import widths  # noqa: F401  (the width sweep: alone / label smoothing / KD, 2k and 50k images)

# The widgets load on first use, so importing this topic (a sweep recipe, a CLI) never pulls in
# ipywidgets: only the ui layer and the topics' widgets.py import it.
_WIDGETS = ("sweep_widget", "temperature_widget")


__getattr__ = lazy.attributes(__name__, widgets=_WIDGETS)
