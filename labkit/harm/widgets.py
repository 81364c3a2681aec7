"""Notebook 10's explorer: pick a compressed model -> its per-class damage bars, reliability
diagram and corruption curves; a sparsity slider for the generator -> its sample grid. Every
move redraws only what changes on a figure drawn once (``labkit.ui.plots.MovingFigure``), from
results computed before the widget is built (the population summary and the decoded grids)."""
from __future__ import annotations

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..data import CLASSES
from ..ui.plots import MovingFigure
from ..ui.widgets import LiveWidget, show_png
from .corrupt import KINDS


class HarmExplorer(LiveWidget):
    """``summary``: ``labkit.harm.damage.summarize``'s result; ``grids``: ``{sparsity: images (N, 28, 28)
    in [0, 1]}`` of the generator; ``gen_fd``: ``{sparsity: Fréchet distance}``; ``severities``."""

    def __init__(self, summary: dict, grids: dict, gen_fd: dict, severities, members=None):
        super().__init__()
        self.summary, self.grids, self.gen_fd, self.severities = summary, grids, gen_fd, list(severities)
        members = list(members or [m for m in summary if m != "cnn"])
        if not members or not grids:
            raise ValueError("pass a population summary with compressed members and at least one generator grid")
        self.model = widgets.Dropdown(options=members, value=members[0], description="model")
        self.slider = widgets.SelectionSlider(options=[(f"{s:.0%}", s) for s in grids], value=next(iter(grids)),
                                              description="generator sparsity", continuous_update=False,
                                              style={"description_width": "initial"})
        self.label, self.gen_label = widgets.Label(), widgets.Label()
        self.out, self.gen_out = widgets.Output(), widgets.Output()
        self._build_model_figure()
        self._build_generator_figure()
        self.children = [self.model, self.label, self.out, self.slider, self.gen_label, self.gen_out]
        self.model.observe(lambda _c: self._guarded(self._update_model), names="value")
        self.slider.observe(lambda _c: self._guarded(self._update_generator), names="value")
        self._update_model()
        self._update_generator()

    # the model panel: drawn once, the bars and lines of the chosen model move
    def _build_model_figure(self):
        base = self.summary["cnn"]
        fig = Figure(figsize=(13, 3.4), layout="constrained")
        ax_c, ax_r, ax_k = fig.subplots(1, 3, width_ratios=[1.3, 0.9, 1.3])
        lim = max(2.0, max(abs(v) for s in self.summary.values() for v in s["class_change"]) * 1.1)
        self.class_bars = ax_c.bar(range(len(CLASSES)), [0.0] * len(CLASSES), color="C3", alpha=0.8)
        ax_c.axhline(0, color="k", lw=0.8)
        ax_c.set_ylim(-lim, lim / 2)
        ax_c.set_xticks(range(len(CLASSES)), CLASSES, rotation=35, ha="right", fontsize=7)
        ax_c.set_ylabel("class accuracy change (pt)")
        ax_c.set_title("per-class change vs the CNN (mean over seeds)", fontsize=9)
        edges = base["reliability"]["edges"].numpy()
        w = edges[1] - edges[0]
        ax_r.bar(edges[:-1], [0 if v != v else v for v in base["reliability"]["accuracy"].tolist()], width=w,
                 align="edge", color="0.8", edgecolor="0.5", lw=0.3, label="CNN")
        self.rel_bars = ax_r.bar(edges[:-1], [0.0] * (len(edges) - 1), width=w * 0.6, align="edge", color="C0",
                                 alpha=0.8, label="compressed")
        ax_r.plot([0, 1], [0, 1], "k--", lw=1)
        ax_r.set_xlim(0, 1), ax_r.set_ylim(0, 1)
        ax_r.set_xlabel("confidence"), ax_r.set_ylabel("accuracy in the bin")
        ax_r.legend(fontsize=7, loc="upper left")
        ax_r.set_title("reliability diagram (all seeds)", fontsize=9)
        self.kind_lines = {}
        for i, kind in enumerate(KINDS):
            ax_k.plot(self.severities, base["corruption_acc"][kind], ls=":", color=f"C{i}", lw=1)
            self.kind_lines[kind], = ax_k.plot(self.severities, base["corruption_acc"][kind], "o-", ms=3,
                                               color=f"C{i}", label=kind)
        ax_k.set_ylim(0, 100)
        ax_k.set_xlabel("severity"), ax_k.set_ylabel("accuracy (%)")
        ax_k.legend(fontsize=7, loc="lower left")
        ax_k.set_title("corruptions (dotted: the CNN)", fontsize=9)
        moving = list(self.class_bars) + list(self.rel_bars) + list(self.kind_lines.values())
        self.model_fig = MovingFigure(fig, moving)

    def _build_generator_figure(self):
        from .figures import tile
        fig = Figure(figsize=(3.4, 3.6), layout="constrained")
        ax = fig.add_subplot()
        first = next(iter(self.grids.values()))
        self.image = ax.imshow(1 - tile(first), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title("generated samples (same latents)", fontsize=9)
        self.tiles = {s: 1 - tile(g) for s, g in self.grids.items()}
        self.gen_fig = MovingFigure(fig, [self.image])

    def _update_model(self):
        m = self.model.value
        s = self.summary[m]
        for bar, v in zip(self.class_bars, s["class_change"]):
            bar.set_height(v)
            bar.set_color("C3" if v < 0 else "C2")
        for bar, v in zip(self.rel_bars, s["reliability"]["accuracy"].tolist()):
            bar.set_height(0.0 if v != v else v)
        for kind, line in self.kind_lines.items():
            line.set_ydata(s["corruption_acc"][kind])
        acc, sd = s["accuracy"]
        worst = CLASSES[s["worst_class"]]
        self._say(f"{m} ({len(s['seeds'])} seeds): top-1 {acc:.2f} ± {sd:.2f} % | worst class {worst} "
                  f"{-s['worst_class_drop_pt'][0]:+.2f} pt | ECE {100 * s['ece'][0]:.2f} % "
                  f"(CNN {100 * self.summary['cnn']['ece'][0]:.2f} %) | mean corrupted accuracy "
                  f"{s['corruption_mean'][0]:.2f} % (CNN {self.summary['cnn']['corruption_mean'][0]:.2f} %)")
        with self._lock:
            show_png(self.out, self.model_fig.png())

    def _update_generator(self):
        s = self.slider.value
        self.image.set_data(self.tiles[s])
        self.gen_label.value = f"generator at sparsity {s:.0%}: Fréchet distance {self.gen_fd[s]:.1f} (CNN features; lower is better)"
        with self._lock:
            show_png(self.gen_out, self.gen_fig.png())

    def select(self, model: str | None = None, sparsity: float | None = None):
        """Show ``model`` and/or the generator at ``sparsity`` (as the dropdown and the slider do)."""
        if model is not None:
            if model not in self.model.options:
                raise ValueError(f"model {model!r} is not in the population; choose one of {list(self.model.options)}")
            if self.model.value == model:
                self._update_model()
            else:
                self.model.value = model
        if sparsity is not None:
            values = [v for _, v in self.slider.options]
            if sparsity not in values:
                raise ValueError(f"sparsity {sparsity!r} was not precomputed; choose one of {values}")
            if self.slider.value == sparsity:
                self._update_generator()
            else:
                self.slider.value = sparsity
        return self


def explorer(summary: dict, grids: dict, gen_fd: dict, severities, members=None) -> HarmExplorer:
    """The notebook's widget (see ``HarmExplorer``)."""
    return HarmExplorer(summary, grids, gen_fd, severities, members)


def generator_grids(sparsities, n: int = 36, seed: int = 0) -> dict:
    """``{sparsity: n generated images}`` of the zoo VAE's decoder pruned one-shot at each sparsity, same latents."""
    from .. import zoo
    from .generative import generate, pruned_decoder
    vae = zoo.load("vae", device="cpu")
    return {s: generate(pruned_decoder(vae, s)[0], n, seed) for s in sparsities}


def bench_widgets():
    """For ``labkit.ui.catalogue``: the explorer over the cached population and generator sweep."""
    from .damage import summarize
    from .generative import load_generator_sweep
    from .population import load_population
    pop, gen = load_population(), load_generator_sweep()
    summary = summarize(pop)
    fd = {r["config"]["sparsity"]: r["fd"] for r in gen["prune"]}
    grids = generator_grids(list(fd))
    sev = pop["params"]["corrupt_severities"]
    members = [m for m in summary if m != "cnn"]
    moves = [{"model": m, "sparsity": s} for m, s in zip(members * 2, list(fd) * 3)]
    return {"": (lambda: explorer(summary, grids, fd, sev), moves)}
