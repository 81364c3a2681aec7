"""labkit.widgets / labkit.plots without a kernel: set a value, assert the label and a new PNG."""

import pytest

from labkit.ui.plots import figure_png, fmt_bytes, pareto_front, tradeoff_figure
from labkit.ui.widgets import tradeoff_dashboard


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
    before = png_of(dash)
    dash.live_choice.value = 0.4
    dash.button.click()
    assert seen == [(0.5, "running: half way")]
    assert dash.progress.value == 1.0
    assert len(dash.points) == 5 and dash.points[-1]["label"] == "live"
    assert 0.4 in [v for _, v in dash.slider.options] and dash.slider.value == 0.4
    assert "width=0.4: accuracy 86.00 %" in dash.label.value
    assert png_of(dash) != before
    dash.live_choice.value = 0.5  # an existing value: replaced, not appended
    dash.run_live()
    assert len(dash.points) == 5
    assert [p["accuracy_pct"] for p in dash.points if p["config"]["width"] == 0.5] == [86.0]


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
        assert fig.axes[1].get_ylabel() == "latency (ms)"
        assert fig.axes[0].get_xscale() == ("linear" if x == "latency_ms" else "log")
        assert figure_png(fig).startswith(b"\x89PNG")
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
