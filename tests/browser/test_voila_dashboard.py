"""(b) The Voila dashboard (make dashboard): opens with no code shown, a move changes the label and
the figure, no error appears; the explorer's update time measured in the browser (median of 20)."""
import json

from pagekit import ROOT, SHOTS, axis_moves, figure_src, free_port, median, move_and_time, serve, stop


def test_voila_dashboard_moves_and_is_fast(browser):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = serve(["voila", "dashboards/explorer.ipynb", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
                 url + "voila/static/ready", SHOTS / "voila.log")      # a static URL: GET / would start a kernel
    try:
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, timeout=120_000, wait_until="commit")       # Voila streams while it executes
        page.wait_for_selector(".labkit-explorer-figure img", timeout=120_000)
        page.wait_for_timeout(500)
        assert page.locator(".jp-InputArea-editor, .cm-editor").count() == 0, "Voila shows code"
        page.screenshot(path=str(SHOTS / "voila-explorer-start.png"), full_page=True)
        label, src = page.inner_text(".labkit-explorer-label"), figure_src(page)
        page.select_option(".labkit-explorer-families select", ["prune", "quant"])
        page.wait_for_function("([l, s]) => document.querySelector('.labkit-explorer-label').innerText !== l"
                               " && document.querySelector('.labkit-explorer-figure img').src !== s",
                               arg=[label, src], timeout=15_000)
        assert " points meet " in page.inner_text(".labkit-explorer-label")
        times = []
        move_and_time(page, axis_moves(page, 20), times)
        page.screenshot(path=str(SHOTS / "voila-explorer-moved.png"), full_page=True)
        text = page.inner_text("body")
        assert "Traceback" not in text and "Error:" not in page.inner_text(".labkit-explorer-label")
        assert not errors, errors
        med = median(times)
        (SHOTS / "voila-explorer-moves.json").write_text(json.dumps({"median_s": med, "moves_s": times}, indent=1))
        print(f"explorer update in the browser (Voila): median {med:.3f} s of {len(times)} moves, "
              f"max {max(times):.3f} s")
        assert med <= 0.2, f"explorer update median {med:.3f} s > 0.2 s"
    finally:
        stop(proc)
    assert (ROOT / "dashboards" / "explorer.ipynb").exists()
