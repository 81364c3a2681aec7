"""labkit.tools.baselines: every fp32 form and int8 timed in one run, ratios to eager and deployed."""
from labkit.tools import baselines


def test_the_table_times_every_form_and_marks_the_deployed_one():
    text = baselines.table("lenet5", batch_sizes=(2,), repeats=2)
    lines = text.splitlines()
    assert lines[0].startswith("lenet5, ")
    forms = ("eager (as trained)", "BatchNorm folded", "folded + channels_last", "onnxruntime fp32", "onnxruntime int8")
    for form in forms:
        assert sum(form in line for line in lines) == 1, form
    deployed = [line for line in lines if "<- deployed" in line]
    assert len(deployed) == 1 and ("channels_last" in deployed[0] or "onnxruntime fp32" in deployed[0])
    assert deployed[0].split()[-1] == "1.00x"                 # itself, in the "vs deployed" column
    eager = next(line for line in lines if "eager (as trained)" in line)
    assert eager.split()[-2] == "1.00x"                       # itself, in the "vs eager" column
