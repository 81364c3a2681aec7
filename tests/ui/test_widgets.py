"""labkit.widgets / labkit.plots without a kernel: set a value, assert the label and a new PNG."""

import pytest

from labkit.ui.plots import TradeoffPlot, figure_png, fmt_bytes, pareto_front, tradeoff_figure
from labkit.ui.widgets import fmt_seconds, tradeoff_dashboard


def pt(width, acc, size, ms, macs, **extra):
    return {"accuracy_pct": acc, "size_bytes": size, "latency_ms": ms, "macs": macs,
            "config": {"width": width}, **extra}


def sweep():
    return [pt(0.25, 81.5, 12_000, 0.40, 300_000), pt(0.5, 89.12, 46_285, 1.23, 2_100_000),
            pt(0.75, 91.0, 100_000, 2.00, 4_500_000), pt(1.0, 92.4, 190_000, 3.10, 8_000_000)]




def test_initial_render_has_one_png(png_of):
    dash = tradeoff_dashboard(sweep(), "width")
    assert len(dash.out.outputs) == 1 and set(dash.out.outputs[0]["data"]) == {"image/png", "text/plain"}
    png_of(dash)
    assert [v for _, v in dash.slider.options] == [0.25, 0.5, 0.75, 1.0]
    assert "width=0.25: accuracy 81.50 %" in dash.label.value


def test_slider_updates_label_and_png(png_of):
    base = pt(1.0, 92.4, 190_000, 3.10, 8_000_000)
    dash = tradeoff_dashboard(sweep(), "width", baseline=base)
    assert dash.slider.value == 1.0  # starts at the baseline's value
    before = png_of(dash)
    dash.slider.value = 0.5
    text = dash.label.value
    assert text.startswith("width=0.5: accuracy 89.12 % | size 45.20 KiB | 1.23 ms | 2.1 M MACs")
    assert "-3.28 pt, 4.1x smaller, 2.5x faster" in text
    assert png_of(dash) != before


def test_select_same_as_slider(png_of):
    dash = tradeoff_dashboard(sweep(), "width")
    before = png_of(dash)
    assert dash.select(0.75)["accuracy_pct"] == 91.0
    assert dash.slider.value == 0.75 and "accuracy 91.00 %" in dash.label.value
    assert png_of(dash) != before
    with pytest.raises(ValueError, match=r"choose one of \[0.25, 0.5, 0.75, 1.0\]"):
        dash.select(0.6)


def test_live_progress_and_new_point(png_of):
    seen = []

    def live(value, progress):
        progress(0.5, "half way")
        seen.append((dash.progress.value, dash.label.value))
        return pt(value, 86.0, 30_000, 0.9, 1_000_000)

    dash = tradeoff_dashboard(sweep(), "width", live=live, live_values=[0.4, 0.5])
    assert dash.button.description == "run live (time: shown after the first run)"
    before = png_of(dash)
    dash.live_choice.value = 0.4
    dash.button.click()
    assert seen == [(0.5, "running: half way | under 1 s left")]   # the time left, from the fraction done
    assert dash.progress.value == 1.0
    assert dash.button.description == "run live (under 1 s, as the last run)"
    assert len(dash.points) == 5 and dash.points[-1]["label"] == "live"
    assert 0.4 in [v for _, v in dash.slider.options] and dash.slider.value == 0.4
    assert "width=0.4: accuracy 86.00 %" in dash.label.value
    assert png_of(dash) != before
    dash.live_choice.value = 0.5  # an existing value: replaced, not appended
    dash.run_live()
    assert len(dash.points) == 5
    assert [p["accuracy_pct"] for p in dash.points if p["config"]["width"] == 0.5] == [86.0]


def test_live_button_says_how_long_and_shows_progress_before_any_work():
    shown = []

    def live(value, progress):
        shown.append((dash.button.disabled, dash.progress.bar_style, dash.label.value))
        return pt(value, 86.0, 30_000, 0.9, 1_000_000)

    dash = tradeoff_dashboard(sweep(), "width", live=live, live_seconds=42)
    assert dash.button.description == "run live (~42 s, estimated)"
    dash.button.click()             # without a kernel the run is synchronous (in a kernel: a thread)
    assert shown == [(True, "info", "running width=0.25 ...")]
    assert dash.button.description == "run live (under 1 s, as the last run)"
    assert [fmt_seconds(s) for s in (0.4, 42, 150)] == ["under 1 s", "~42 s", "~2.5 min"]


def test_live_error_is_shown_and_dashboard_keeps_working():
    def live(value, progress):
        raise RuntimeError("out of memory\ntraceback line")

    dash = tradeoff_dashboard(sweep(), "width", live=live)
    before = [dict(p) for p in dash.points]
    assert dash.run_live() is None
    assert dash.label.value == "error: RuntimeError: out of memory"
    assert isinstance(dash.last_error, RuntimeError) and not dash.button.disabled
    assert dash.points == before
    dash.select(1.0)
    assert "accuracy 92.40 %" in dash.label.value


def test_pareto_front():
    a, b, c, d = ({"s": 50, "a": 70}, {"s": 100, "a": 80}, {"s": 100, "a": 80}, {"s": 200, "a": 85})
    dominated = [{"s": 200, "a": 84}, {"s": 300, "a": 85}, {"s": 120, "a": 79}]
    front = pareto_front([d, *dominated, b, a, c], x="s", y="a")
    assert len(front) == 4 and all(p is q for p, q in zip(front, [a, b, c, d]))


def test_fmt_bytes():
    assert [fmt_bytes(n) for n in (512, 1536, 2.25 * 2 ** 20, 2 ** 30)] == \
        ["512 B", "1.50 KiB", "2.25 MiB", "1.00 GiB"]


def test_figure_axes_and_single_point():
    for x in ("size_bytes", "latency_ms", "macs"):
        fig = tradeoff_figure(sweep()[:1], highlight=sweep()[0], baseline=sweep()[0], x=x, title="t")
        assert len(fig.axes) == 1           # one latency: a fixed colour, no colour bar
        assert fig.axes[0].get_xscale() == ("linear" if x == "latency_ms" else "log")
        assert figure_png(fig).startswith(b"\x89PNG")
        fig = tradeoff_figure(sweep(), highlight=sweep()[0], x=x)
        assert fig.axes[1].get_ylabel() == "latency (ms)"
    with pytest.raises(ValueError, match="choose one of"):
        tradeoff_figure(sweep(), x="params")


@pytest.mark.parametrize("points, param, fix", [
    ([], "width", "compute a sweep first"),
    ([{k: v for k, v in pt(0.5, 1, 1, 1, 1).items() if k != "latency_ms"}], "width", "'latency_ms'"),
    (sweep(), "depth", "must be one of ['width']"),
])
def test_bad_input_names_the_fix(points, param, fix):
    with pytest.raises(ValueError) as err:
        tradeoff_dashboard(points, param)
    assert fix in str(err.value) and "\n" not in str(err.value)


def test_point_name_is_short_and_leaves_out_nested_config():
    from labkit.ui.plots import point_name
    p = {"label": "mixed", "config": {"avg_bits": 2.25, "bits_by_layer": {"0": 8, "4": 6}}}
    assert point_name(p) == "mixed: avg_bits=2.25"
    long = {"config": {"name": "x" * 100}}
    assert len(point_name(long)) == 48 and point_name(long).endswith("…")


def legend_texts(fig):
    return {lg.get_title().get_text(): [t.get_text() for t in lg.get_texts()] for lg in fig.legends}


def test_colour_is_fixed_when_latency_is_within_noise_and_its_range_includes_the_baseline():
    noisy = [dict(p, latency_ms=ms) for p, ms in zip(sweep(), (3.46, 3.58, 3.50, 3.52))]
    fig = tradeoff_figure(noisy, baseline=pt(1.0, 92.4, 190_000, 7.0, 8_000_000))
    assert len(fig.axes) == 1 and "latency 3.46-3.58 ms (noise)" in legend_texts(fig)[""]
    assert "baseline, 7.00 ms" in legend_texts(fig)[""]
    same = [dict(p, latency_ms=1.23) for p in sweep()]
    assert "latency 1.23 ms" in legend_texts(tradeoff_figure(same))[""]
    fig = tradeoff_figure(sweep(), baseline=pt(1.0, 92.4, 190_000, 9.0, 8_000_000))   # 0.4-3.1 ms: colour
    (sc,) = [c for c in fig.axes[0].collections if c.get_array() is not None]
    assert sc.norm.vmin == 0.40 and sc.norm.vmax == 9.0 and fig.axes[1].get_ylabel() == "latency (ms)"


def test_size_legend_says_what_marker_area_means():
    assert legend_texts(tradeoff_figure(sweep()))["area: MACs"] == ["300.0 k", "4.5 M", "8.0 M"]
    same = [dict(p, macs=2_000_000) for p in sweep()]
    assert legend_texts(tradeoff_figure(same))["area: MACs"] == ["2.0 M MACs: every point"]


def test_point_labels_get_their_own_markers():
    pts = [dict(p, label="uniform" if i % 2 else "mixed") for i, p in enumerate(sweep())]
    fig = tradeoff_figure(pts)
    paths = {c.get_label(): c.get_paths()[0].vertices.shape for c in fig.axes[0].collections if c.get_label() in ("mixed", "uniform")}
    assert set(paths) == {"mixed", "uniform"} and paths["mixed"] != paths["uniform"]   # circle vs square
    assert {"mixed", "uniform"} <= set(legend_texts(fig)[""])
    assert not {"mixed", "uniform"} & set(legend_texts(tradeoff_figure(sweep()))[""])


def test_selected_name_stays_inside_the_axes():
    long = [dict(p, config={"width": p["config"]["width"], "name": "a long configuration name"}) for p in sweep()]
    plot = TradeoffPlot(long, baseline=pt(1.0, 95.0, 400_000, 3.1, 8_000_000), title="t")
    renderer = plot.view.canvas.get_renderer()
    for p in long:
        plot.png(p)
        box, frame = plot.note.get_window_extent(renderer), plot.ax.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, p["config"]


def test_a_move_draws_the_same_image_as_a_fresh_figure():
    """Blitting leaves nothing of the previous selection behind."""
    plot = TradeoffPlot(sweep(), baseline=sweep()[-1])
    frames = [plot.png(p) for p in sweep() + sweep()[::-1]]
    assert len(set(frames)) == 4
    assert frames[1] == TradeoffPlot(sweep(), baseline=sweep()[-1]).png(sweep()[1])
    plot.place(None)
    assert not plot.ring.get_visible() and plot.view.png().startswith(b"\x89PNG")


def test_a_saved_widget_carries_its_current_figure_for_static_views(png_of):
    """The decks of ``make slides`` and any static HTML show the figure, not "loading widget"."""
    import base64
    import ipywidgets as widgets
    from labkit.joint.widgets import BudgetDashboard
    from labkit.nas.widgets import BudgetExplorer
    from labkit.ui.widgets import LiveWidget, StaticView, Tabs
    dash = tradeoff_dashboard(sweep(), "width")
    dash.slider.value = 0.5
    bundle = dash._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["text/plain"].startswith("Dashboard(")
    assert base64.b64decode(bundle["image/png"]) == png_of(dash)          # the figure as it is now
    other = tradeoff_dashboard(sweep(), "width")
    other.slider.value = 1.0
    tabs = Tabs(children=[dash, other])
    assert base64.b64decode(tabs._repr_mimebundle_()["image/png"]) == png_of(dash)     # the first tab's
    assert "image/png" not in Tabs(children=[widgets.Label("no figure")])._repr_mimebundle_()
    assert all(issubclass(c, StaticView) for c in (LiveWidget, BudgetDashboard, BudgetExplorer))
