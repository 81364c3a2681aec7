"""Knowledge distillation (notebook 05): a small student learns from a teacher's outputs.
``from labkit import distillation`` is the notebook's one import.

Inside: ``losses`` (soft targets, the KD loss, attention maps: pure tensor functions) →
``teacher`` (the teacher's outputs cached, the training objectives) → ``students`` (students
on a data budget, recovering a pruned network) → ``sweep`` (the cached sweeps over seeds and
their tables) → ``figures`` → ``widgets``.
"""
from .figures import CONFUSABLE, describe_temperature, sweep_figure, temperature_figure  # noqa: F401
from .losses import CNN_STAGES, FeatureTaps, attention_loss, attention_map, kd_loss, soft_targets  # noqa: F401
from .students import (RECOVER_METHODS, VAL_START, Budget, make_student, prune_copy, recover,  # noqa: F401
                       remove_masks, teacher_cache, train_student, validation_accuracy, validation_batches)
from .sweep import (RECOVER_SPARSITY, SWEEP_SEEDS, best, live_run, load_sweeps, mean_std, run_sweep,  # noqa: F401
                    sweep, sweep_rows, sweep_text)
from .teacher import TeacherCache, attention_objective, kd_objective  # noqa: F401
from .widgets import sweep_widget, temperature_widget  # noqa: F401
