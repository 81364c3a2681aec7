"""Fixtures shared by the unit tests."""
import pytest


@pytest.fixture(autouse=True)
def _no_committed_record_check(monkeypatch):
    """The root conftest makes every Recorder compare with the committed records (that is for
    the notebooks); unit tests write their own records, so they start without it."""
    monkeypatch.delenv("LABKIT_REFERENCE", raising=False)
