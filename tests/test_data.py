import gzip
import shutil

import pytest
import torch

from labkit import data


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "RAW_CACHE", tmp_path / "raw-cache")
    saved = dict(data._CACHE)
    data._CACHE.clear()
    yield
    data._CACHE.clear()
    data._CACHE.update(saved)


def test_splits_have_the_published_sizes_and_balanced_classes():
    for split, n in (("train", 60_000), ("test", 10_000)):
        ds = data.fashion_mnist(split)
        assert len(ds) == n
        assert ds.images.dtype == torch.uint8 and ds.images.shape == (n, 28, 28)
        assert torch.bincount(ds.labels).tolist() == [n // 10] * 10


def test_getitem_is_normalised_float():
    x, y = data.fashion_mnist("test")[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and isinstance(y, int)
    raw = data.fashion_mnist("test").images[0].float() / 255
    assert torch.allclose(x[0], (raw - data.MEAN) / data.STD)


def test_train_split_mean_and_std_match_the_constants():
    imgs = data.arrays("train")[0].float() / 255
    assert abs(imgs.mean().item() - data.MEAN) < 5e-4 and abs(imgs.std().item() - data.STD) < 5e-4


def test_loader_covers_every_sample_once_and_shuffles_reproducibly():
    a = data.Loader("test", batch_size=999, shuffle=True, seed=3)
    ys = torch.cat([y for _, y in a])
    assert len(a) == 11 and len(ys) == 10_000
    assert torch.equal(torch.sort(ys).values, torch.sort(data.arrays("test")[1]).values)
    b = data.Loader("test", batch_size=999, shuffle=True, seed=3)
    assert torch.equal(ys, torch.cat([y for _, y in b]))
    assert not torch.equal(ys, torch.cat([y for _, y in a]))          # next epoch: new order
    plain = torch.cat([y for _, y in data.Loader("test", 1000, shuffle=False)])
    assert torch.equal(plain, data.arrays("test")[1])


def test_loader_limit_and_bad_batch():
    assert data.Loader("train", 100, limit=250).num_samples == 250
    with pytest.raises(ValueError, match="batch_size"):
        data.Loader("train", 0)


def test_unknown_split_names_the_choices():
    with pytest.raises(ValueError, match="unknown split 'validation'.*'train', 'test'"):
        data.fashion_mnist("validation")


def _copy_files(tmp_path, raw=False):
    src = data.locate()
    for img, lab, _ in data.SPLITS.values():
        for name in (img, lab):
            p = data._file_in(src, name)
            if raw:
                (tmp_path / name).write_bytes(data.read_verified(p))
            else:
                shutil.copy(p, tmp_path / p.name)


def test_labkit_data_folder_comes_first_and_raw_files_work(tmp_path, monkeypatch, fresh_cache):
    _copy_files(tmp_path, raw=True)
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    assert data.locate() == tmp_path
    assert len(data.fashion_mnist("test")) == 10_000


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_file_is_refused_with_its_name_and_the_fix(tmp_path, monkeypatch, fresh_cache, damage):
    _copy_files(tmp_path)
    victim = tmp_path / "t10k-labels-idx1-ubyte.gz"
    blob = gzip.decompress(victim.read_bytes())
    blob = blob[:-100] if damage == "truncate" else blob[:-1] + bytes([blob[-1] ^ 1])
    victim.write_bytes(gzip.compress(blob))
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    with pytest.raises(data.DataError) as e:
        data.fashion_mnist("test")
    msg = str(e.value)
    assert "t10k-labels-idx1-ubyte.gz" in msg and "corrupt" in msg and "apt-get install dataset-fashion-mnist" in msg
    assert "\n" not in msg


def test_unreadable_gzip_is_refused(tmp_path, monkeypatch, fresh_cache):
    _copy_files(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not a gzip file")
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte.gz is unreadable"):
        data.arrays("test")


def test_no_source_at_all_names_both_remedies(tmp_path, monkeypatch, fresh_cache):
    monkeypatch.setattr(data, "candidate_dirs", lambda: [tmp_path / "nothing"])
    with pytest.raises(data.DataError) as e:
        data.arrays("train")
    msg = str(e.value)
    assert "apt-get install dataset-fashion-mnist" in msg and "python -m labkit.data --download" in msg


def test_warm_loads_use_a_verified_decompressed_cache(tmp_path, monkeypatch, fresh_cache):
    _copy_files(tmp_path)
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    labels = data.arrays("test")[1].clone()
    cached = list((tmp_path / "raw-cache").glob("*/t10k-labels-idx1-ubyte"))
    assert len(cached) == 1
    data._CACHE.clear()
    assert torch.equal(data.arrays("test")[1], labels)          # served from the cache
    cached[0].write_bytes(cached[0].read_bytes()[:-5])          # a damaged cache ...
    data._CACHE.clear()
    assert torch.equal(data.arrays("test")[1], labels)          # ... is rebuilt, never used
    assert cached[0].stat().st_size == 10_008


def test_ensure_reports_the_folder():
    assert data.ensure(allow_apt=False, allow_download=False) == data.locate()


def test_load_benchmark_runs_and_reports_the_source(fresh_cache):
    from labkit.tools import bench
    r = bench.bench_load(repeats=1)
    assert r["first_s"] > 0 and r["reload_median_s"] > 0 and r["source"] == str(data.locate())
    assert len(data.arrays("train")[1]) == 60_000          # the cache is refilled


def test_named_subsets_are_disjoint_where_they_must_be_and_inside_the_training_images():
    s = data.SUBSETS
    assert s["calibration"][1] <= s["sensitivity"][0]                   # calibration and sensitivity: disjoint
    for name in ("calibration", "sensitivity", "train"):
        assert s[name][1] <= s["val"][0]                                  # nothing a model decides on is validation
    assert s["val"][1] == 60_000
    batches = data.subset("calibration", batch_size=200)
    assert [len(y) for _, y in batches] == [200, 200, 112]
    x, y = batches[0]
    images, labels = data.arrays("train")
    assert torch.equal(y, labels[:200]) and x.shape == (200, 1, 28, 28)
    with pytest.raises(ValueError, match="subset"):
        data.subset("holdout")
