"""labkit.tools.baselines: every fp32 form and int8 timed in one run, ratios to eager and deployed."""
from labkit.tools import baselines


def test_the_table_times_every_form_and_marks_the_deployed_one():
    text = baselines.table("lenet5", batch_sizes=(2,), repeats=2)
    lines = text.splitlines()
    assert lines[0].startswith("lenet5, ")
    table = [line for line in lines if not line.startswith("batch 2: A/A noise floor")]
    forms = ("eager (as trained)", "BatchNorm folded", "folded + channels_last", "onnxruntime fp32", "onnxruntime int8")
    for form in forms:
        assert sum(form in line for line in table) == 1, form
    deployed = [line for line in lines if "<- deployed" in line]
    assert len(deployed) == 1 and any(f in deployed[0] for f in ("eager", "channels_last", "onnxruntime fp32"))
    assert deployed[0].endswith("1 (reference)")               # itself, in the "vs deployed" column
    eager = next(line for line in lines if "eager (as trained)" in line)
    assert "1 (reference)" in eager                            # itself, in the "vs eager" column
    assert sum(line.startswith("batch 2: A/A noise floor: ±") for line in lines) == 1
