"""Fixtures shared by the unit tests."""
import base64

import pytest


@pytest.fixture(autouse=True)
def _no_committed_record_check(monkeypatch):
    """The root conftest makes every Recorder compare with the committed records (that is for
    the notebooks); unit tests write their own records, so they start without it."""
    monkeypatch.delenv("LABKIT_REFERENCE", raising=False)


@pytest.fixture
def fake_sweeps():
    """A small distillation sweep cache in the shape ``distillation.sweep_rows`` reads (two seeds)."""
    e = lambda v, **k: {**k, "val_accuracy_pct": v, "test_accuracy_pct": v}  # noqa: E731
    return {"sweeps": {
        "alpha": [e([80.0, 81.0], T=4, alpha=0.0), e([83.0, 85.0], T=4, alpha=0.9)],
        "temperature": [e([82.0, 82.0], T=1, alpha=0.9), e([83.0, 85.0], T=4, alpha=0.9)],
        "budget": [e([70.0, 71.0], images=500, T=4, alpha=0.0), e([75.0, 74.0], images=500, T=4, alpha=0.9)],
        "feature": [e([80.0, 81.0], beta=0.0, T=4, alpha=0.0), e([81.0, 82.0], beta=1000.0, T=4, alpha=0.0),
                    e([84.0, 86.0], beta=1000.0, T=4, alpha=0.9)],
        "teacher": [e([82.0, 84.0], teacher="cnn-w8", teacher_params=82498, teacher_test_accuracy_pct=90.91,
                      T=4, alpha=0.9)]}}


@pytest.fixture
def png_of():
    """The PNG a widget shows now (its ``out`` Output holds one display_data image), checked to be one."""
    def png(widget) -> bytes:
        (out,) = widget.out.outputs
        assert out["output_type"] == "display_data"
        data = base64.b64decode(out["data"]["image/png"])
        assert data.startswith(b"\x89PNG")
        return data
    return png
