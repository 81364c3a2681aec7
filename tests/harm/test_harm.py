"""labkit.harm: corruptions, calibration, exemplars, the Fréchet distance, the population's encoding."""
import numpy as np
import pytest
import torch

from labkit import harm
from labkit.harm import damage, generative as G, population as P


# ---------------------------------------------------------------------------- corruptions
@pytest.mark.parametrize("kind", harm.KINDS)
def test_corruptions_are_deterministic_in_range_and_grow_with_severity(kind):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 28, 28, generator=g)
    a, b = harm.corrupt(x, kind, 3, seed=7), harm.corrupt(x, kind, 3, seed=7)
    assert torch.equal(a, b) and a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    change = [float((harm.corrupt(x, kind, s, seed=7) - x).abs().mean()) for s in harm.SEVERITIES]
    assert change[0] > 0 and change[-1] > change[0]
    assert harm.corrupt(x.unsqueeze(1), kind, 2).shape == (16, 1, 28, 28)


def test_corruption_seed_matters_and_uint8_is_scaled():
    x = torch.randint(0, 256, (4, 28, 28), dtype=torch.uint8)
    assert not torch.equal(harm.corrupt(x, "noise", 2, seed=0), harm.corrupt(x, "noise", 2, seed=1))
    assert torch.allclose(harm.corrupt(x, "contrast", 1), harm.corrupt(x.float() / 255, "contrast", 1))


def test_corruption_errors_name_the_fix():
    with pytest.raises(ValueError, match="use one of noise"):
        harm.corrupt(torch.zeros(1, 28, 28), "snow", 1)
    with pytest.raises(ValueError, match="1 is mild"):
        harm.corrupt(torch.zeros(1, 28, 28), "blur", 6)


# ---------------------------------------------------------------------------- calibration
def test_ece_of_known_cases():
    assert harm.ece(torch.ones(10), torch.ones(10, dtype=torch.bool)) == 0.0
    assert harm.ece(torch.full((10,), 0.9), torch.zeros(10)) == pytest.approx(0.9)
    # two bins of equal size: |0.5 - 0.2| and |1.0 - 0.9|
    conf = torch.tensor([0.2, 0.2, 0.9, 0.9])
    assert harm.ece(conf, torch.tensor([1, 0, 1, 1]), bins=2) == pytest.approx(0.5 * 0.3 + 0.5 * 0.1)


def test_bins_are_right_closed_and_zero_joins_the_first():
    assert harm.bin_index(torch.tensor([0.0, 0.25, 0.2500001, 1.0]), 4).tolist() == [0, 0, 1, 3]
    with pytest.raises(ValueError, match="softmax probabilities"):
        harm.reliability(torch.tensor([1.5]), torch.tensor([1]))


def test_per_class_accuracy_and_exemplars():
    labels = torch.tensor([0, 0, 1, 1])
    assert harm.class_accuracy(torch.tensor([0, 1, 1, 1]), labels)[:2].tolist() == [50.0, 100.0]
    assert harm.class_drop(torch.tensor([0, 1, 1, 1]), labels, labels)[:2].tolist() == [-50.0, 0.0]
    dense = torch.tensor([[0, 1, 2], [0, 1, 2], [0, 5, 2]])
    comp = torch.tensor([[0, 3, 2], [0, 3, 4], [0, 1, 4]])
    assert harm.modal(dense).tolist() == [0, 1, 2]
    assert harm.exemplars(comp, dense).tolist() == [1, 2]


def test_versus_says_noise_when_ranges_overlap():
    assert damage.versus([1.0, 1.1, 0.9], [0.0, 0.1, -0.1])["beyond_noise"]
    assert not damage.versus([1.0, 0.0, 0.5], [0.4, 0.6, 0.2])["beyond_noise"]
    assert not damage.versus([1.0], [0.0])["beyond_noise"]                 # one seed proves nothing


# ---------------------------------------------------------------------------- the Fréchet distance
def test_frechet_distance_of_gaussians_matches_the_closed_form():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=g, dtype=torch.float64)
    b = 2.0 * torch.randn(20000, 3, generator=g, dtype=torch.float64) + 1.0
    # N(0, I) vs N(1, 4I) in 3-d: |mu|^2 = 3, tr(I + 4I - 2 * 2I) = 3
    assert G.frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)
    assert G.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="same d"):
        G.frechet_distance(a, b[:, :2])


def test_pruned_generator_keeps_its_zeros_through_recovery():
    from labkit.models import VAE
    torch.manual_seed(0)
    vae = VAE(latent=4, hidden=16).eval()
    dec, masks = G.pruned_decoder(vae, 0.5)
    G.recover_(dec, masks, vae.decoder, "kd", steps=3, batch_size=8)
    weights = torch.cat([m.weight.flatten() for m in dec if isinstance(m, torch.nn.Linear)])
    assert float((weights == 0).double().mean()) == pytest.approx(0.5, abs=0.01)
    assert G.generate(dec, 5, seed=0, latent=4).shape == (5, 28, 28)
    with pytest.raises(ValueError, match="recovery method"):
        G.recover_(dec, masks, vae.decoder, "magic", steps=1)


# ---------------------------------------------------------------------------- the population's encoding
def test_predictions_round_trip_through_base64():
    pred = np.arange(10, dtype=np.uint8)
    conf = np.linspace(0, 1, 10).astype(np.float16)
    assert (P.decode(P.encode(pred), np.uint8) == pred).all()
    assert (P.decode(P.encode(conf), np.float16) == conf).all()


def test_member_summary_on_a_fake_population():
    y = torch.tensor([0, 1, 2, 3] * 5)
    base = {"pred": y.clone(), "conf": torch.full((20,), 0.9), "accuracy_pct": 100.0,
            "corruption_acc": {"noise": [90.0, 80.0]}, "config": {"seed": None}}
    wrong = y.clone()
    wrong[[1, 5]] = 2                                                       # two of five class-1 images lost
    rows = [{**base, "pred": wrong, "accuracy_pct": 90.0, "config": {"seed": s}} for s in (0, 1)]
    s = damage.member_summary(rows, base, y)
    assert s["worst_class"] == 1 and s["worst_class_drop_pt"] == (40.0, 0.0)
    assert s["accuracy"] == (90.0, 0.0) and s["corruption_acc"]["noise"] == [90.0, 80.0]
    assert s["ece"][0] == pytest.approx(0.0, abs=1e-6)      # 90 % sure and 18 of 20 right: calibrated


def test_unknown_member_is_refused():
    with pytest.raises(ValueError, match="use one of dense"):
        P.build("magic", 0, None)
