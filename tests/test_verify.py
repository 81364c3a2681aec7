"""labkit.verify: machine-dependent numbers are masked for nbval and checked by value."""
import copy
import json
import re

import pytest
import torch

from labkit import paths, verify
from labkit.points import Point
from labkit.record import Recorder
from labkit.verify import approx

P = Point(accuracy_pct=91.25, size_bytes=1000, macs=5000, latency_ms=0.5)
B = Point(accuracy_pct=92.0, size_bytes=4000, macs=20000, latency_ms=1.5)


def sanitize(text: str) -> str:
    """notebooks/sanitize.cfg applied the way nbval applies it (its own parser, in file order)."""
    from nbval.plugin import get_sanitize_patterns
    for regex, replace in get_sanitize_patterns((paths.NOTEBOOKS / "sanitize.cfg").read_text()):
        text = re.sub(regex, replace, text)
    return text


def test_approx_prints_its_mark_and_arithmetic_keeps_it():
    a = approx(92.5)
    assert f"{a:.2f}" == "≈92.50" and f"{a - 92.93:+.2f}" == "≈-0.43" and f"{a}" == "≈92.5"
    assert verify.is_approx(a * 2) and verify.is_approx(100 - a) and verify.is_approx(sum([a, a]))
    assert verify.is_approx(round(a, 1)) and f"{approx(4881):,d}" == "≈4,881"
    assert not verify.is_approx(92.5) and a == 92.5 and json.dumps({"a": a, "n": approx(3)}) == '{"a": 92.5, "n": 3}'
    with pytest.raises(TypeError):
        approx(True)


def test_sanitize_masks_marked_numbers_and_only_those():
    a = sanitize("fine-grained: test accuracy ≈92.50 % (≈-0.43 pt), 233,220 bytes")
    b = sanitize("fine-grained: test accuracy ≈92.51 % (≈-0.42 pt), 233,220 bytes")
    assert a == b
    assert sanitize("... 233,220 bytes") != sanitize("... 233,224 bytes")        # deterministic: still exact
    assert sanitize("accuracy 92.50 %") != sanitize("accuracy 92.51 %")
    row1, row2 = "    0  ≈9.99  1,000", "    0  ≈10.01  1,000"                       # alignment shifts too
    assert sanitize(row1) == sanitize(row2)


def test_every_sanitize_section_is_one_pattern_nbval_reads():
    # nbval pairs "regex: ..." with the next line "replace: ..." (a space after the colon, even for
    # an empty replacement): a section it cannot read is silently ignored
    from nbval.plugin import get_sanitize_patterns
    text = (paths.NOTEBOOKS / "sanitize.cfg").read_text()
    sections = re.findall(r"^\[[\w-]+\]$", text, flags=re.M)
    assert len(get_sanitize_patterns(text)) == len(sections) > 10


def test_sanitize_drops_the_busy_machine_line_and_aligns_approx_verdicts():
    busy = ("busy machine: the A/A noise floor is ±15 %, wider than the ±10 % bound (this run, table x); "
            "close other jobs and re-run before comparing these latencies\n")
    assert sanitize(f"a\n{busy}b\n") == "a\nb\n"
    assert sanitize("  width  " + "≈met".rjust(24)) == sanitize("  width  " + "≈NOT met".rjust(24))
    assert sanitize("  width  " + "met".rjust(24)) != sanitize("  width  " + "NOT met".rjust(24))   # exact words stay


def test_evaluate_marks_only_models_trained_in_this_process():
    from labkit.train import evaluate
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    batches = [(torch.randn(8, 4), torch.randint(0, 2, (8,)))]
    assert not verify.is_approx(evaluate(model, batches))
    verify.mark_trained(model)
    assert verify.is_approx(evaluate(model, batches))
    assert verify.is_trained(copy.deepcopy(model))          # a copy of a trained model is trained too


def _committed(tmp_path, monkeypatch, rows):
    ref = tmp_path / "committed"
    rec = Recorder("nb", ref)
    for technique, config, point, baseline in rows:
        rec.add(technique, config, point, baseline=baseline)
    monkeypatch.setenv("LABKIT_REFERENCE", str(ref))
    return tmp_path / "run"


def test_a_rerun_within_tolerance_passes(tmp_path, monkeypatch):
    run = _committed(tmp_path, monkeypatch, [("prune-fine", {"sparsity": 0.9}, P, B)])
    moved = Point(approx(P.accuracy_pct - 0.6), P.size_bytes, P.macs, 9.9)     # trained: 0.6 pt, timing differs
    Recorder("nb", run).add("prune-fine", {"sparsity": 0.9}, moved, baseline=B)


@pytest.mark.parametrize("change, message", [
    (dict(accuracy_pct=approx(91.25 - 1.5)), "accuracy_pct: 89.75 now vs 91.25 expected"),     # trained, beyond 1 pt
    (dict(accuracy_pct=91.25 - 0.1), "beyond the 'eval' tolerance"),                          # fixed weights: 0.05 pt
    (dict(size_bytes=1004), "size_bytes: 1004 now vs 1000"),                                   # bytes are exact
    (dict(macs=approx(5200)), "macs"),                                                          # trained counts: 2 %
])
def test_a_result_beyond_its_tolerance_fails_naming_notebook_point_and_values(tmp_path, monkeypatch, change, message):
    run = _committed(tmp_path, monkeypatch, [("prune-fine", {"sparsity": 0.9}, P, B)])
    changed = Point(**{**P.as_dict(), **change})
    with pytest.raises(AssertionError, match="nb record row 1, prune-fine {'sparsity': 0.9}") as err:
        Recorder("nb", run).add("prune-fine", {"sparsity": 0.9}, changed, baseline=B)
    assert message in str(err.value)


def test_a_parameter_count_is_compared_like_the_macs(tmp_path, monkeypatch):
    counted = Point(**{**P.as_dict(), "params": 400})
    run = _committed(tmp_path, monkeypatch, [("prune-fine", {"sparsity": 0.9}, counted, B)])
    Recorder("nb", run).add("prune-fine", {"sparsity": 0.9}, counted, baseline=B)
    with pytest.raises(AssertionError, match="params: 404 now vs 400"):        # exact, as the MACs
        Recorder("nb", run).add("prune-fine", {"sparsity": 0.9}, Point(**{**P.as_dict(), "params": 404}), baseline=B)
    with pytest.raises(AssertionError, match="params: None here, 400 in the committed record"):
        Recorder("nb", run).add("prune-fine", {"sparsity": 0.9}, P, baseline=B)


def test_a_different_or_extra_point_asks_to_re_execute(tmp_path, monkeypatch):
    run = _committed(tmp_path, monkeypatch, [("prune-fine", {"sparsity": 0.9}, P, B)])
    with pytest.raises(AssertionError, match="re-execute the notebook"):
        Recorder("nb", run).add("prune-fine", {"sparsity": 0.8}, P, baseline=B)
    rec = Recorder("nb", run)
    rec.add("prune-fine", {"sparsity": 0.9}, P, baseline=B)
    with pytest.raises(AssertionError, match="has no row for"):
        rec.add("prune-fine", {"sparsity": 0.95}, P, baseline=B)


def test_check_close_uses_the_tolerance_of_the_value():
    verify.check_close(approx(92.1), 92.62, "QAT 4-bit vs its cache")           # trained: within 1 pt
    with pytest.raises(AssertionError, match="QAT 4-bit vs its cache: 90.1 now vs 92.62 expected"):
        verify.check_close(approx(90.1), 92.62, "QAT 4-bit vs its cache")
    with pytest.raises(AssertionError, match="'eval' tolerance"):
        verify.check_close(92.55, 92.62, "PTQ W4 vs its cache")                 # fixed weights: 0.05 pt


def test_a_broken_fine_tune_fails_against_the_committed_record_of_notebook_02(monkeypatch, tmp_path):
    """The real thing: notebook 02's channel-pruned CNN recorded without its fine-tune (lr 0)
    is ~13 pt below the committed row and must be refused."""
    from labkit import metrics, zoo
    from labkit import pruning as prune
    from labkit.train import evaluate
    monkeypatch.setenv("LABKIT_REFERENCE", str(paths.NOTEBOOKS / "results"))
    committed = json.loads((paths.NOTEBOOKS / "results" / "02_pruning.jsonl").read_text().splitlines()[0])
    assert committed["technique"] == "prune-channel" and committed["batch_size"] == 1
    baseline = zoo.load("cnn")
    channel = prune.channel_prune(baseline, committed["config"]["ratio"])
    prune.finetune_(channel, 0.01, lr=0.0)                     # the bug: nothing learns
    acc = evaluate(channel)
    assert verify.is_approx(acc) and acc < committed["accuracy_pct"] - 5
    point = Point(acc, committed["size_bytes"], metrics.count_macs(channel), 1.0)
    base = Point(evaluate(baseline), committed["baseline_size_bytes"], committed["baseline_macs"], 1.0)
    with pytest.raises(AssertionError, match=r"02_pruning record row 1, prune-channel .* accuracy_pct: .* beyond the "
                                             r"'trained' tolerance"):
        Recorder("02_pruning", tmp_path).add("prune-channel", committed["config"], point, baseline=base, batch_size=1)
