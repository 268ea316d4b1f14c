"""``massrecon predict`` end to end on the bundled example files, and its argument errors."""

import astropy.units as u
import pytest
from astropy.table import QTable

from massrecon.cli import main
from massrecon.datasets import make_example_observations
from massrecon.observations.transfer import multipole_to_wavenumber


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return make_example_observations(tmp_path_factory.mktemp("example"))


def _args(files, out):
    return ["predict", "--ra", "180", "--dec", "20", "--z", "0.15", "--m500", "9.2e14",
            "--y", files["y"], "--y-beam", "10",
            "--counts", files["counts"], "--exposure", files["exposure"], "--background", files["background"],
            "--xray-mask", files["mask"], "--ecf", "6.36e11", "--nh", "2e20", "--psf", "30",
            "--members", files["members"], "--out", str(out)]


def test_predict_writes_map_and_tables(example, tmp_path, capsys):
    from massrecon import MassMap

    assert main(_args(example, tmp_path) + ["--png"]) == 0
    m = MassMap.read(tmp_path / "massmap.fits")
    assert m.unit == u.Msun / u.kpc**2 and m.wcs.has_celestial
    masses = QTable.read(tmp_path / "masses.ecsv")
    truth = QTable.read(example["cluster"])["m500_true"][0]
    row = masses[list(masses["quantity"]).index("spherical M500c")]
    # one cluster: the spherical M500 lies within 3 of its own stated errors of the truth
    assert abs(row["mass"] - truth) < 3 * row["error"]
    assert row["error"] > row["pixel_error"]  # the correlated model term is in
    prof = QTable.read(tmp_path / "profile.ecsv")
    assert len(prof) == 10 and (prof["sigma"] > 0).all()
    assert (tmp_path / "massmap.png").stat().st_size > 10_000
    # a second run without --overwrite refuses, naming the file
    assert main(_args(example, tmp_path)) == 2
    assert "massmap.fits exists" in capsys.readouterr().err


def test_predict_self_consistent_reports_its_own_frame(example, tmp_path, capsys):
    from massrecon import MassMap

    assert main(_args(example, tmp_path) + ["--self-consistent"]) == 0
    m = MassMap.read(tmp_path / "massmap.fits")
    assert m.meta["SCMETHOD"] == "relation" and m.meta["FRAMEENS"] == 5
    masses = QTable.read(tmp_path / "masses.ecsv")
    rows = {q: r for q, r in zip(masses["quantity"], masses)}
    # the relation mass that placed the frame, with its scatter, and the projected masses within
    # the radii of that frame, not the catalogue's
    assert rows["relation M500c"]["mass"].to_value(u.Msun) == pytest.approx(m.meta["RELM500"])
    assert rows["relation M500c"]["error"] > 0
    inside = m.projected_mass(m.meta["R500C"] * u.kpc).mass.to_value(u.Msun)
    assert rows["projected R500"]["mass"].to_value(u.Msun) == pytest.approx(inside, rel=1e-6)
    assert "relation M500c" in capsys.readouterr().out


@pytest.mark.parametrize("drop, add, message", [
    (("--y-beam", "10"), (), "--y-beam"),
    (("--psf", "30"), (), "--psf"),
    (("--ecf", "6.36e11"), (), "--ecf"),
    (("--m500", "9.2e14"), (), "--m500"),
    ((), ("--counts", "extra.fits"), "one --exposure per --counts"),
    ((), ("--y-highpass", "3", "--y-transfer", "t.txt"), "one of --y-highpass and --y-transfer"),
    ((), ("--members-completeness", "1e10", "--members-mag-limit", "17.8"), "one of --members-completeness"),
    ((), ("--frame-ensemble", "2"), "--frame-ensemble must be a positive odd number"),
])
def test_predict_argument_errors(example, tmp_path, capsys, drop, add, message):
    args = _args(example, tmp_path)
    if drop:
        i = args.index(drop[0])
        del args[i:i + len(drop)]
    assert main(args + list(add)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_predict_needs_an_observation(tmp_path, capsys):
    assert main(["predict", "--ra", "1", "--dec", "2", "--z", "0.1", "--m500", "5e14", "--out", str(tmp_path)]) == 2
    assert "at least one observation" in capsys.readouterr().err


def test_predict_depth_and_filter_options_reach_the_observations(example, tmp_path):
    from argparse import Namespace

    from massrecon.cli_predict import _members, _sz

    args = Namespace(members=example["members"], members_completeness=1e11, members_mag_limit=None,
                     members_band="r")
    assert _members(args).completeness_limit() == 1e11 * u.Msun
    table = tmp_path / "t.txt"
    table.write_text("0 0\n500 0.3\n1500 0.8\n4000 1\n")
    sz = Namespace(y=example["y"], y_healpix=None, y_beam=10.0, y_unit=None, y_kind="cmb", y_frequency=None,
                   y_highpass=None, y_transfer=str(table))
    tf = _sz(sz).transfer_function
    assert tf is not None and abs(tf.evaluate(multipole_to_wavenumber(1000)) - 0.55) < 1e-9
    sz.y_transfer, sz.y_highpass = None, 3.0
    assert _sz(sz).transfer_function.equivalent_high_pass().to_value(u.arcmin) == pytest.approx(3.0, rel=1e-3)


def test_predict_background_error_reaches_the_image(example, tmp_path, capsys):
    from argparse import Namespace

    from massrecon.cli_predict import _xray

    frame = None  # the frame is needed only for an ECF from an ARF
    args = Namespace(counts=[example["counts"]], exposure=[example["exposure"]], background=[example["background"]],
                     background_error=0.05, xray_mask=example["mask"], psf=30.0, band=[0.5, 2.0], ecf=6.36e11,
                     arf=None, nh=2e20, kt=None)
    assert _xray(args, frame).background_error == 0.05
    # a bad value is one line naming the option's meaning
    assert main(_args(example, tmp_path) + ["--background-error", "1.5"]) == 2
    assert "background_error must lie in [0, 1)" in capsys.readouterr().err
    args.counts = []
    with pytest.raises(ValueError, match="--background-error needs X-ray counts"):
        _xray(args, frame)
