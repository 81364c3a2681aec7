"""labkit.deploy: ONNX export, ONNX Runtime fp32 and static int8, and the deployed fp32 baseline, on a tiny model, offline."""
import pytest
import torch
from torch import nn

from labkit import metrics, size
from labkit import deploy as rt


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(8 * 14 * 14, 10)).eval()
    g = torch.Generator().manual_seed(1)
    calib = [(torch.randn(32, 1, 28, 28, generator=g), None) for _ in range(2)]
    folder = tmp_path_factory.mktemp("onnx")
    return m, rt.to_runtime(m, folder, "fp32", threads=1), rt.to_runtime(m, folder, "int8", batches=calib, threads=1)


def test_fp32_runtime_matches_pytorch(models):
    m, f32, _ = models
    x = torch.randn(5, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(f32(x), m(x), atol=1e-4)


def test_int8_runtime_is_close_and_smaller(models):
    m, f32, i8 = models
    x = torch.randn(64, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref, got = m(x), i8(x)
    assert got.shape == ref.shape
    assert (got.argmax(1) == ref.argmax(1)).float().mean() > 0.8
    assert (got - ref).abs().max() < 0.1 * ref.abs().max()
    assert i8.file_bytes() < f32.file_bytes() / 2


def test_initializers_are_int8_weights_with_scales_and_zero_points(models):
    m, f32, i8 = models
    parts = rt.onnx_initializer_bytes(i8.path)
    weights = sum(p.numel() for n, p in m.named_parameters() if p.dim() >= 2)
    assert parts["weights"] == weights                                   # one byte per weight
    assert parts["scales"] > 0 and parts["zero_points"] > 0
    assert parts["file"] > sum(v for k, v in parts.items() if k != "file")
    assert rt.onnx_initializer_bytes(f32.path)["weights"] == 4 * weights
    assert parts["weights"] == sum(r["payload"] for r in size.size_report(m, "int8") if r["kind"] == "weight")


def test_runtime_module_works_with_labkit_measures(models):
    _, f32, i8 = models
    t = metrics.compare_latency({"f32": f32, "i8": i8}, (2, 1, 28, 28), repeats=3, warmup=1)
    assert t["f32"].median_ms > 0 and t["i8"].batch_size == 2


@pytest.mark.parametrize("kw, match", [({"runtime": "tensorrt"}, "unknown runtime"),
                                       ({"precision": "int4"}, "unknown precision")])
def test_bad_runtime_or_precision(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        rt.to_runtime(nn.Linear(2, 2), tmp_path, **kw)


def test_exports_carry_no_machine_paths(models):
    """The exporter's debug metadata (stack traces with this machine's paths) is stripped, so the
    files, and the sizes the notebook prints, are the same bytes on every machine."""
    import sys
    _, f32, i8 = models
    for path in (f32.path, i8.path):
        blob = path.read_bytes()
        assert b"stack_trace" not in blob and sys.prefix.encode() not in blob


def _bn_model(seed=0):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(16 * 7 * 7, 10))
    m.train()
    with torch.no_grad():                       # BatchNorm statistics that are not the identity
        for _ in range(3):
            m(torch.randn(16, 1, 28, 28) * 2 + 0.5)
    return m.eval()


def test_torch_deployed_folds_batchnorm_runs_channels_last_and_computes_the_same():
    m = _bn_model()
    d = rt.torch_deployed(m)
    assert not any(isinstance(x, (nn.BatchNorm2d, nn.Identity)) for x in d.modules())
    convs = [x for x in d.modules() if isinstance(x, nn.Conv2d)]
    assert len(convs) == 2 and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    assert all(c.bias is not None for c in convs)
    x = torch.randn(7, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(d(x), m(x), atol=1e-4)
    assert any(isinstance(x, nn.BatchNorm2d) for x in m.modules()), "the original model must be left alone"
    assert metrics.count_macs(d) == metrics.count_macs(m)


def test_deployed_runtimes_and_auto_picks_the_faster(tmp_path):
    m = _bn_model(1)
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        ref = m(x)
    for runtime in ("torch", "onnxruntime"):
        d = rt.deployed(m, runtime, folder=tmp_path / runtime, threads=1)
        assert runtime in d.runtime
        with torch.no_grad():
            assert torch.allclose(d(x), ref, atol=1e-4), runtime
    auto = rt.deployed(m, "auto", batch_size=2, folder=tmp_path / "auto", threads=1, repeats=3)
    assert set(auto.candidates) == {"eager", "torch", "onnxruntime"}     # eager is a candidate too
    best = min(auto.candidates, key=auto.candidates.get)
    assert best in auto.runtime
    with torch.no_grad():
        assert torch.allclose(auto(x), ref, atol=1e-4)


def test_deployed_refuses_an_unknown_runtime():
    with pytest.raises(ValueError, match="runtime"):
        rt.deployed(_bn_model(), "tensorrt")


@pytest.mark.skipif(not __import__("shutil").which("g++"), reason="torch.compile needs a C++ compiler (apt install g++)")
def test_compiled_computes_the_same_and_reports_its_compile_time():
    m = _bn_model(2)
    net = rt.compiled(m, batch_sizes=(2,))
    assert net.compile_s > 0 and "torch.compile" in net.runtime
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(net(x), m(x), atol=1e-4)


def test_measure_counts_a_runtime_form_by_its_model_and_its_file(tmp_path):
    from labkit import points
    m = _bn_model(3)
    forms = rt.candidates(m, folder=tmp_path, threads=1)
    pts = points.measure({"as trained": m, **forms}, accuracy={"as trained": 0.0, "eager": 0.0, "torch": 0.0,
                                                               "onnxruntime": 0.0}, repeats=2)
    assert pts["onnxruntime"].macs == pts["torch"].macs == pts["eager"].macs == pts["as trained"].macs == metrics.count_macs(m)
    # every deployed form counts the same folded weights, so a table does not change with the runtime that won
    assert pts["onnxruntime"].size_bytes == pts["torch"].size_bytes == pts["eager"].size_bytes == \
        size.size_bytes(forms["torch"], "fp32")
    assert pts["torch"].size_bytes < pts["as trained"].size_bytes
    assert pts["eager"].form == "deployed" and pts["as trained"].form == "eager"
    int8 = rt.to_runtime(m, tmp_path / "q", "int8", batches=[(torch.randn(8, 1, 28, 28), None)], threads=1)
    q = points.measure({"int8": int8}, accuracy={"int8": 0.0}, repeats=2)["int8"]
    assert q.size_bytes == int8.file_bytes() and q.macs == metrics.count_macs(m)   # a quantized runtime: its file
    assert not list(forms["onnxruntime"].parameters()), "counted_as must not register the model as a submodule"


def test_an_emulated_cpu_gets_its_own_inductor_cache(monkeypatch):
    import os
    from torch._inductor.runtime.runtime_utils import default_cache_dir
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", default_cache_dir())      # what importing inductor leaves behind
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    rt._separate_inductor_cache()
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == default_cache_dir()      # the real CPU: torch's default cache
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    rt._separate_inductor_cache()
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"].endswith("ATEN_CPU_CAPABILITY=default")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/somewhere/chosen")       # a folder the user chose is kept
    rt._separate_inductor_cache()
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == "/somewhere/chosen"
