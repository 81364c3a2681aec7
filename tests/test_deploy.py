"""labkit.runtime_int8: ONNX export and ONNX Runtime's static int8 model, on a tiny model, offline."""
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
