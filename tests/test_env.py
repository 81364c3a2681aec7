import torch

import labkit
from labkit import env as runtime


def test_setup_prints_one_line_and_picks_cpu_without_cuda(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("LABKIT_THREADS", "1")
    before = torch.get_num_threads()
    try:
        dev = labkit.setup(seed=3)
        out = capsys.readouterr().out.strip().splitlines()
        assert dev.type == "cpu" and labkit.current_device().type == "cpu"
        assert len(out) == 1 and "device cpu" in out[0] and "threads 1" in out[0] and "seed 3" in out[0]
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_setup_seeds_everything():
    labkit.setup(seed=11, quiet=True)
    a = torch.rand(3)
    labkit.setup(seed=11, quiet=True)
    assert torch.equal(a, torch.rand(3))


def test_bad_thread_count_names_the_fix(monkeypatch):
    monkeypatch.setenv("LABKIT_THREADS", "two")
    try:
        labkit.setup(quiet=True)
    except ValueError as e:
        assert "export LABKIT_THREADS=2" in str(e)
    else:
        raise AssertionError("LABKIT_THREADS='two' was accepted")


def test_cuda_is_used_when_present():
    dev = runtime.setup(quiet=True)
    assert dev.type == ("cuda" if torch.cuda.is_available() else "cpu")
