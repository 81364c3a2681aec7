import pytest
import torch

from labkit import models, train


def test_a_short_run_learns_and_is_reproducible():
    accs = []
    for _ in range(2):
        torch.manual_seed(123)          # same init; train() seeds the data order and dropout
        m = models.lenet5()
        hist = train.train(m, epochs=1, limit=3000, batch_size=100, seed=7, progress=False)
        accs.append(train.evaluate(m, limit=2000))
        assert len(hist) == 1 and hist[0]["loss"] < 2.0
    assert accs[0] == accs[1] and accs[0] > 60


def test_fractional_epochs_and_after_step_and_report():
    m = models.lenet5()
    seen, reports = [], []
    train.train(m, epochs=0.5, limit=2000, batch_size=100, progress=False,
                after_step=lambda model: seen.append(1), report=lambda f, t: reports.append(f))
    assert len(seen) == 10 and reports[-1] == 1.0


def test_evaluate_counts_correctly():
    class Oracle(torch.nn.Module):      # predicts class 0 always
        def forward(self, x):
            out = torch.zeros(len(x), 10)
            out[:, 0] = 1
            return out
    assert train.evaluate(Oracle(), "test") == pytest.approx(10.0)   # 1,000 of 10,000 are class 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="epochs must be > 0"):
        train.train(models.lenet5(), epochs=0)
    with pytest.raises(TypeError, match="nn.Module"):
        train.evaluate("cnn")
