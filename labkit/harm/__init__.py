"""What compression costs beyond top-1, and pruning a generative model (notebook 10).
``from labkit import harm`` is the notebook's one import; it may import every topic.

Inside: ``corrupt`` (corruptions made in labkit: noise, blur, contrast, rotation, occlusion) →
``calibration`` (ECE, reliability, per-class accuracy, Hooker et al.'s exemplars: pure functions
on predictions) → ``population`` (the compressed population over seeds, its cached sweep) →
``generative`` (the VAE, its Fréchet distance in the CNN's features, pruning, quantizing and
distilling the generator, its cached sweep) → ``figures`` → ``widgets``.
"""
from .. import lazy
from .calibration import (BINS, bin_index, class_accuracy, class_drop, confidence_of, ece, exemplars,  # noqa: F401
                          modal, reliability)
from .corrupt import KINDS, LEVELS, SEVERITIES, corrupt, corrupted_batches  # noqa: F401
from .population import (ABOUT, CORRUPT_IMAGES, CORRUPT_SEVERITIES, DERIVED, EPOCHS, MEMBERS, SEEDS,  # noqa: F401
                         TECHNIQUE, build, decode, encode, evaluate_member, load_population, population_sweep, predict,
                         test_batches)
from . import damage, generative  # noqa: F401
from .damage import churn, compression_exemplars, findings, member_summary, summarize, versus  # noqa: F401
from .generative import (Judge, frechet_distance, generate, generator_sweep, load_generator_sweep,  # noqa: F401
                         pruned_decoder, quantized_decoder, reconstruction_error, recover_)

# The widgets and figures load on first use, so importing this topic (a sweep recipe, a CLI) never pulls in
# ipywidgets: only the ui layer and the topics' widgets.py import it.
_WIDGETS = ("explorer", "generator_grids")
_FIGURES = ("class_change_figure", "corruption_figure", "image_grid", "quality_figure", "reliability_figure",
            "sample_grids")


__getattr__ = lazy.attributes(__name__, widgets=_WIDGETS, figures=_FIGURES)
