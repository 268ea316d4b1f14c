import h5py
import numpy as np
import pytest

from massrecon.cli import main
from massrecon.simulate import MAP_NAMES, SimulationConfig
from massrecon.simulate import dataset as ds

CFG = SimulationConfig(projections=2, npix=16, seed=9)


def _contents(path):
    out = {}
    with h5py.File(path, "r") as f:
        for grp in ("maps", "meta", "members"):
            for k in f[grp]:
                out[f"{grp}/{k}"] = f[grp][k][...]
        for k in ("layout_version", "config", "n_halos", "n_halos_done", "n_maps_done", "halo_start"):
            out[k] = f.attrs[k]
    return out


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert np.array_equal(a[k], b[k]), k
        else:
            assert a[k] == b[k], k


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ref.h5"
    ds.write_dataset(path, 4, CFG, workers=1, progress=False)
    return _contents(path)


def test_layout(reference, tmp_path):
    assert reference["maps/sigma_total"].shape == (8, 16, 16)
    assert reference["maps/sigma_total"].dtype == np.float32
    assert reference["n_halos_done"] == 4 and reference["n_maps_done"] == 8
    assert set(np.unique(reference["meta/halo_id"])) == {0, 1, 2, 3}
    # split is per halo
    for hid in range(4):
        assert len(set(reference["meta/split"][reference["meta/halo_id"] == hid])) == 1
    with ds.open_dataset(tmp_path / "x.h5" if False else _write(tmp_path)) as d:
        y = d.map("compton_y", 0)
        assert y.unit.physical_type == "dimensionless"
        x = d.map("xray_soft", 0)
        assert x.unit == ds.MAP_UNITS["xray_soft"]
        assert np.all(np.isfinite(x.value))
        mem = d.members(0)
        assert set(mem) == {"x", "y", "mstar", "v_los"}
        assert len(d) == 2


def _write(tmp_path):
    p = tmp_path / "one.h5"
    ds.write_dataset(p, 1, CFG, workers=1, progress=False)
    return p


def test_deterministic_and_parallel_identical(reference, tmp_path):
    p = tmp_path / "par.h5"
    ds.write_dataset(p, 4, CFG, workers=2, progress=False)
    _assert_same(reference, _contents(p))


def test_resume_after_kill(reference, tmp_path, monkeypatch):
    p = tmp_path / "killed.h5"
    real = ds._simulate_task
    calls = {"n": 0}

    def dying(args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real(args)

    monkeypatch.setattr(ds, "_simulate_task", dying)
    with pytest.raises(KeyboardInterrupt):
        ds.write_dataset(p, 4, CFG, workers=1, progress=False)
    with h5py.File(p) as f:
        assert f.attrs["n_halos_done"] == 2
    monkeypatch.setattr(ds, "_simulate_task", real)
    ds.write_dataset(p, 4, CFG, workers=1, progress=False)
    _assert_same(reference, _contents(p))


def test_resume_discards_partial_rows(reference, tmp_path):
    p = tmp_path / "partial.h5"
    ds.write_dataset(p, 4, CFG, workers=1, progress=False)
    with h5py.File(p, "a") as f:  # pretend the last halo was half written when the run died
        f.attrs["n_halos_done"] = 3
        f["maps/sigma_total"][7] = -1.0
    ds.write_dataset(p, 4, CFG, workers=1, progress=False)
    _assert_same(reference, _contents(p))


def test_shards_merge_identical(reference, tmp_path):
    s0, s1 = tmp_path / "s0.h5", tmp_path / "s1.h5"
    assert main(["simulate", "--n-halos", "4", "--projections", "2", "--npix", "16", "--seed", "9",
                 "--shard", "0/2", "--out", str(s0), "--quiet", "--workers", "1"]) == 0
    assert main(["simulate", "--n-halos", "4", "--projections", "2", "--npix", "16", "--seed", "9",
                 "--shard", "1/2", "--out", str(s1), "--quiet", "--workers", "1"]) == 0
    merged = tmp_path / "merged.h5"
    assert main(["simulate", "merge", str(s1), str(s0), "--out", str(merged)]) == 0
    _assert_same(reference, _contents(merged))
    # refusing to overwrite
    assert main(["simulate", "merge", str(s0), str(s1), "--out", str(merged)]) == 2


def test_merge_errors(tmp_path):
    s0 = tmp_path / "s0.h5"
    ds.write_dataset(s0, 2, CFG, halo_start=0, workers=1, progress=False)
    s2 = tmp_path / "s2.h5"
    ds.write_dataset(s2, 2, CFG, halo_start=3, workers=1, progress=False)
    with pytest.raises(ValueError, match="consecutive"):
        ds.merge_datasets([s0, s2], tmp_path / "m.h5")
    other = tmp_path / "other.h5"
    ds.write_dataset(other, 2, SimulationConfig(projections=2, npix=16, seed=10), halo_start=2,
                     workers=1, progress=False)
    with pytest.raises(ValueError, match="different configurations"):
        ds.merge_datasets([s0, other], tmp_path / "m2.h5")


def test_no_silent_overwrite(tmp_path, capsys):
    p = _write(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite"):
        ds.write_dataset(p, 1, SimulationConfig(projections=2, npix=16, seed=99), workers=1, progress=False)
    before = _contents(p)
    assert main(["simulate", "--n-halos", "1", "--projections", "2", "--npix", "16", "--seed", "3",
                 "--out", str(p), "--quiet"]) == 2
    assert "overwrite" in capsys.readouterr().err
    _assert_same(before, _contents(p))
    ds.write_dataset(p, 1, SimulationConfig(projections=2, npix=16, seed=99), workers=1, progress=False,
                     overwrite=True)
    assert _contents(p)["config"] != before["config"]


def test_version_error(tmp_path):
    p = _write(tmp_path)
    with h5py.File(p, "a") as f:
        f.attrs["layout_version"] = "0"
    with pytest.raises(ds.DatasetVersionError, match="layout version 0.*reads layout version 1"):
        ds.open_dataset(p)
    q = tmp_path / "plain.h5"
    with h5py.File(q, "w") as f:
        f["x"] = 1
    with pytest.raises(ds.DatasetVersionError, match="not a massrecon dataset"):
        ds.open_dataset(q)


def test_bad_cli_arguments(tmp_path, capsys):
    out = str(tmp_path / "x.h5")
    assert main(["simulate", "--n-halos", "2", "--npix", "4", "--out", out]) == 2
    assert "npix" in capsys.readouterr().err
    assert main(["simulate", "--n-halos", "2", "--shard", "3/2", "--out", out]) == 2
    assert "--shard" in capsys.readouterr().err
    assert main(["simulate", "--n-halos", "2", "--z-min", "0", "--out", out]) == 2
    assert "z_range" in capsys.readouterr().err
    assert main(["simulate", "--n-halos", "0", "--out", out]) == 2
    assert "n_halos" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "--physics", "MUSIC", "--out", out])


def test_map_names_complete(reference):
    assert all(f"maps/{k}" in reference for k in MAP_NAMES)


def _with_old_key(path):
    """Rewrite a file's config as massrecon wrote it before ``catalogue_mass_limit`` was renamed."""
    with h5py.File(path, "a") as f:
        text = f.attrs["config"]
        assert '"catalogue_mass_limit"' in text
        f.attrs["config"] = text.replace('"catalogue_mass_limit"', '"member_mass_limit"')


def test_files_with_old_config_key(reference, tmp_path):
    # reading
    p = _write(tmp_path)
    _with_old_key(p)
    with ds.open_dataset(p) as d:
        assert d.config == CFG
    # resuming a killed run written before the rename
    p = tmp_path / "old.h5"
    ds.write_dataset(p, 4, CFG, workers=1, progress=False)
    with h5py.File(p, "a") as f:
        f.attrs["n_halos_done"] = 2
    _with_old_key(p)
    ds.write_dataset(p, 4, CFG, workers=1, progress=False)
    new = _contents(p)
    assert new.pop("config") != reference["config"]  # the file keeps the config it was created with
    _assert_same({k: v for k, v in reference.items() if k != "config"}, new)
    # merging old and new shards
    s0, s1 = tmp_path / "s0.h5", tmp_path / "s1.h5"
    ds.write_dataset(s0, 2, CFG, halo_start=0, workers=1, progress=False)
    ds.write_dataset(s1, 2, CFG, halo_start=2, workers=1, progress=False)
    _with_old_key(s0)
    ds.merge_datasets([s0, s1], tmp_path / "m.h5")
    _assert_same(reference, _contents(tmp_path / "m.h5"))
