import json
import shutil

import pytest
import torch

from labkit import zoo
from labkit.train import evaluate


def test_every_recipe_has_a_verified_checkpoint():
    assert zoo.verify() == []
    assert set(zoo.manifest()) == set(zoo.RECIPES)


CLASSIFIERS = [n for n, r in zoo.RECIPES.items() if r.trainer is None]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_checkpoint_reproduces_its_manifest_accuracy(name):
    model = zoo.load(name, device="cpu")
    entry = zoo.info(name)
    assert not model.training
    assert evaluate(model, device="cpu") == pytest.approx(entry["test_accuracy_pct"], abs=0.015)
    assert entry["command"] == f"python -m labkit.zoo train {name}"
    assert entry["bytes"] == zoo.path(name).stat().st_size < 2_000_000     # shipped small


def test_generator_reproduces_its_manifest_reconstruction_error():
    from labkit.harm.generative import reconstruction_error
    model, entry = zoo.load("vae", device="cpu"), zoo.info("vae")
    assert entry["test_accuracy_pct"] is None and entry["command"] == "python -m labkit.zoo train vae"
    assert reconstruction_error(model) == pytest.approx(entry["test_bce_per_image"], abs=0.01)
    assert entry["bytes"] == zoo.path("vae").stat().st_size < 2_000_000     # shipped small


def test_baselines_are_good_enough_to_compress():
    acc = {n: zoo.info(n)["test_accuracy_pct"] for n in zoo.RECIPES}
    assert acc["cnn"] > 91 and acc["lenet5"] > 89 and acc["compact-w1.0"] > 89


@pytest.fixture
def zoo_copy(tmp_path, monkeypatch):
    for p in zoo.CHECKPOINTS.iterdir():
        shutil.copy(p, tmp_path / p.name)
    monkeypatch.setattr(zoo, "CHECKPOINTS", tmp_path)
    monkeypatch.setattr(zoo, "MANIFEST", tmp_path / "manifest.json")
    return tmp_path


def test_corrupt_checkpoint_is_reported_with_the_retrain_command(zoo_copy):
    p = zoo_copy / "lenet5.pt"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(zoo.CheckpointError) as e:
        zoo.load("lenet5")
    assert "corrupt" in str(e.value) and "python -m labkit.zoo train lenet5" in str(e.value)
    assert zoo.verify() == ["lenet5"]


def test_missing_checkpoint_can_be_retrained_saying_so(zoo_copy, monkeypatch, capsys):
    (zoo_copy / "lenet5.pt").unlink()
    with pytest.raises(zoo.CheckpointError, match="missing"):
        zoo.load("lenet5")
    calls = []

    def fake_train(name):            # stands in for the 2-minute recipe
        calls.append(name)
        torch.save(zoo.build(name).state_dict(), zoo_copy / "lenet5.pt")
        m = zoo.manifest()
        m[name]["sha256"] = zoo._sha256(zoo_copy / "lenet5.pt")
        zoo.MANIFEST.write_text(json.dumps(m))
    monkeypatch.setattr(zoo, "train_entry", fake_train)
    model = zoo.load("lenet5", retrain_if_missing=True)
    assert calls == ["lenet5"] and "re-training it now" in capsys.readouterr().out
    assert sum(p.numel() for p in model.parameters()) == 61706


def test_unknown_name_lists_the_zoo():
    with pytest.raises(ValueError, match="unknown zoo checkpoint 'resnet50': use one of 'lenet5'"):
        zoo.load("resnet50")


def test_checkpoints_hold_only_tensors():
    for name in zoo.RECIPES:
        state = torch.load(zoo.path(name), weights_only=True)
        assert all(isinstance(v, torch.Tensor) for v in state.values())
