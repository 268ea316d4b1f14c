import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable

from massrecon import ClusterFrame, MassMap
from massrecon.datasets import EXAMPLE, make_example_observations
from massrecon.observations import ComptonYMap, GalaxyMembers, XrayImage


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_example_observations(tmp_path_factory.mktemp("example"))


def test_files_are_realistic_and_readable(files):
    cat = QTable.read(files["cluster"])
    frame = ClusterFrame(SkyCoord(cat["ra"][0], cat["dec"][0]), cat["z"][0], m500=cat["m500_true"][0])
    y = ComptonYMap.read(files["y"], beam=EXAMPLE["y_beam"]).prepare(frame)
    assert y.beam_fwhm_r200 > 0.5  # a Planck beam is comparable to theta200 at z = 0.15
    assert np.nanmax(y.data) > 5 * EXAMPLE["y_noise"]
    counts = fits.getdata(files["counts"])
    assert counts.dtype.kind == "i" and counts.min() >= 0
    bkg = EXAMPLE["background"] * EXAMPLE["xray_pixel"] ** 2 * EXAMPLE["exposure"]
    x = XrayImage.read_counts(files["counts"], files["exposure"], band=[0.5, 2] * u.keV,
                              ecf=EXAMPLE["ecf"], nh=EXAMPLE["nh"], beam=EXAMPLE["xray_psf"],
                              mask_file=files["mask"])
    px = x.prepare(frame)
    assert np.isfinite(px.data).mean() > 0.9
    assert bkg.to_value(u.ct) < 1  # survey depth: well under one background count per pixel
    members = GalaxyMembers(QTable.read(files["members"]))
    assert len(members) > 20
    pm = members.prepare(frame)
    assert np.nansum(pm.data) > 0
    truth = MassMap.read(files["truth"])
    m = truth.total_mass()
    assert 0.9 < (m / frame.m200).decompose().value < 1.4


def test_no_silent_overwrite(files):
    import os

    with pytest.raises(FileExistsError, match="overwrite"):
        make_example_observations(os.path.dirname(files["y"]))



def test_example_ecf_is_the_efeds_arf_value(files):
    # the mock's ECF is the eFEDS ARF's (PSF loss removed) for the example cluster's spectrum (kT
    # from the Vikhlinin+09 M-T relation at the true M500), the band and N_H, for the absorbed flux
    from pathlib import Path

    import massrecon
    from massrecon.observations import temperature_from_m500
    from massrecon.physics import energy_conversion_factor, read_arf

    arf = Path(massrecon.__file__).parents[2] / "shared" / "data" / "efeds" / "spec_020_ARF_00001.fits"
    if not arf.exists():
        pytest.skip(f"real test data not available: {arf}")
    row = QTable.read(files["cluster"])[0]
    kt = temperature_from_m500(row["m500_true"], float(row["z"]))
    ecf = energy_conversion_factor(read_arf(arf, remove_psf_loss=True), [0.5, 2] * u.keV, kt, z=float(row["z"]),
                                   nh=EXAMPLE["nh"], flux="absorbed")
    assert ecf.to_value(EXAMPLE["ecf"].unit) == pytest.approx(EXAMPLE["ecf"].value, rel=2e-3)
    assert fits.getheader(files["counts"])["NH"] == pytest.approx(EXAMPLE["nh"].to_value(u.cm**-2))


def test_background_error_widens_the_mass_uncertainty(files):
    # the example's X-ray image with its background known to 20%: the map is predicted again with
    # the background scaled by 0.8 and 1.2, and the larger change in ln M(<R500) widens the
    # uncertainty of the mass scale (BKGWIDEN), shared by all radii
    import warnings

    from massrecon import MassReconstructor

    rec = MassReconstructor.pretrained()
    hx = fits.getheader(files["counts"])
    cat = QTable.read(files["cluster"])
    frame = ClusterFrame(SkyCoord(cat["ra"][0], cat["dec"][0]), cat["z"][0], m500=cat["m500"][0])

    def read(**kw):
        return XrayImage.read_counts(files["counts"], files["exposure"], band=[hx["EMIN"], hx["EMAX"]] * u.keV,
                                     ecf=EXAMPLE["ecf"], nh=EXAMPLE["nh"], beam=EXAMPLE["xray_psf"],
                                     background_file=files["background"], mask_file=files["mask"], **kw)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the survey-depth image's own warnings are not the point here
        plain = rec.predict(read(), frame)
        widened = rec.predict(read(background_error=0.2), frame)
        lo = rec.predict(read().with_background_scaled(0.8), frame)
        hi = rec.predict(read().with_background_scaled(1.2), frame)
    assert "BKGWIDEN" not in plain.meta
    assert widened.meta["BKGERR"] == 0.2
    r500 = frame.r500
    nominal = plain.projected_mass(r500).mass
    expected = max(abs(np.log(m.projected_mass(r500).mass / nominal)) for m in (lo, hi))
    assert widened.meta["BKGWIDEN"] == pytest.approx(float(expected), abs=1e-3)
    assert widened.meta["BKGWIDEN"] > 0.01
    # predict_catalog makes such a cluster alone, with the same widening
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (from_catalog,) = rec.predict_catalog([frame], read(background_error=0.2), progress=False)
    assert from_catalog.meta["BKGWIDEN"] == widened.meta["BKGWIDEN"]
    # the same map, a wider uncertainty
    assert np.allclose(widened.data, plain.data)
    m_plain, m_wide = plain.spherical_mass(500), widened.spherical_mass(500)
    m, e, e0 = (q.to_value(u.Msun) for q in (m_wide.mass, m_wide.error, m_plain.error))
    assert m == pytest.approx(m_plain.mass.to_value(u.Msun), rel=1e-3)  # the fit weighs pixels by their errors
    assert e**2 == pytest.approx(e0**2 + (widened.meta["BKGWIDEN"] * m) ** 2, rel=0.05)
