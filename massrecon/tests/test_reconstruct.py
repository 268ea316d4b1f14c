"""MassReconstructor plumbing with stand-in generators (the bundled weights have their own tests)."""

import warnings

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.coordinates import SkyCoord

from massrecon import ClusterFrame, MassMap, MassReconstructor, OutOfDistributionWarning
from massrecon.models import TRANSFORM_CONSTANTS, UNetGenerator
from massrecon.observations import ComptonYMap, GalaxyMembers
from massrecon.reconstruct import projected_to_m200_ratio

META = {"transforms": TRANSFORM_CONSTANTS, "frame": {"npix": 32, "size_r200": 2.0},
        "supported": {"beam_fwhm_r200": [0.01, 1.5], "z": [0.01, 1.0], "log10_m200_h": [13.5, 15.5]},
        "massrecon_version": "test"}
FRAME = ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m200=5e14 * u.Msun, npix=32)


class ConstantSigma(torch.nn.Module):
    """A 'model' predicting a uniform Sigma, whatever the inputs."""

    views = ("sz", "xray", "stars")

    def __init__(self, log10_sigma_over_ref):
        super().__init__()
        self.value = log10_sigma_over_ref

    def forward(self, x, mask, cond):
        return torch.full((x.shape[0], 1, x.shape[2], x.shape[3]), self.value)


def _y_map(frame, amplitude=1e-5):
    r = frame.radius_grid()
    data = amplitude / (1 + (r / 0.1) ** 2)
    return ComptonYMap(data, wcs=frame.wcs, beam=1 * u.arcmin)


def test_predict_shapes_and_metadata():
    torch.manual_seed(0)
    gen = UNetGenerator(base_channels=4, depth=2).eval()
    rec = MassReconstructor(gen, META)
    members = GalaxyMembers.from_arrays(SkyCoord([150.0, 150.01], [2.0, 2.01], unit="deg"),
                                        mstar=[3e11, 5e10] * u.Msun)
    for obs in ([_y_map(FRAME)], [members], [_y_map(FRAME), members]):
        m = rec.predict(obs, FRAME)
        assert isinstance(m, MassMap)
        assert m.data.shape == (32, 32)
        assert np.all(np.isfinite(m.data)) and np.all(m.data > 0)
        assert m.uncertainty is not None and np.all(m.uncertainty.array > 0)
    assert m.meta["VIEWS"] == "sz,stars"


def test_model_frame_resampling():
    rec = MassReconstructor(ConstantSigma(0.0), META)
    big = FRAME.with_npix(80)
    m = rec.predict([_y_map(big)], big)
    assert m.data.shape == (32, 32)
    assert np.allclose(m.data, 1e8)


@pytest.mark.parametrize("start", [0.7, 1.3])
def test_self_consistent_r200_converges(start):
    # Uniform Sigma0: the fixed point has Sigma0 pi R200^2 = ratio(c) M200(R200).
    rec = MassReconstructor(ConstantSigma(0.0), META)
    frame0 = FRAME.with_r200(start * FRAME.r200)
    wide = FRAME.with_npix(96, size_r200=8.0)  # a map covering every frame of the iteration
    m = rec.predict([_y_map(wide)], frame0, self_consistent=True, max_iter=30, rtol=1e-4)
    r200 = float(m.meta["R200C"]) * u.kpc
    frame = FRAME.with_r200(r200)
    m_cyl = 1e8 * u.Msun / u.kpc**2 * np.pi * r200**2
    assert u.isclose(m_cyl / projected_to_m200_ratio(frame.c200), frame.m200, rtol=2e-3)
    # the grid of frames over the supported range, then Brent's refinement of the one root
    assert rec._sc_grid(frame0).size < m.meta["NITER"] <= rec._sc_grid(frame0).size + 30
    assert m.meta["SCNROOT"] == 1 and m.meta["SCFLAG"] == "ok" and m.meta["SCWIDEN"] == 0
    # Sigma fixed: M_cyl ~ R200^2 ~ M200^(2/3)
    assert m.meta["SCRESP"] == pytest.approx(2 / 3, abs=0.02)


class EchoR200Error(torch.nn.Module):
    """A 'model' whose Sigma is 10**(the r200_error conditioning feature): shows what r200_error it was told."""

    views = ("sz", "xray", "stars")

    def forward(self, x, mask, cond):
        return cond[:, -2][:, None, None, None].expand(x.shape[0], 1, x.shape[2], x.shape[3]).clone()


def test_r200_error_reaches_the_network():
    rec = MassReconstructor(EchoR200Error(), META)
    default = rec.predict([_y_map(FRAME)], FRAME)
    assert np.allclose(default.data, 10.0 * 1e8) and default.meta["R200ERR"] == 0.3
    known = rec.predict([_y_map(FRAME)], FRAME, r200_error=0.0)
    assert np.allclose(known.data, 1e8)
    lensing = rec.predict([_y_map(FRAME)], FRAME, r200_error=0.06)
    assert np.allclose(lensing.data, 10 ** 0.2 * 1e8)
    for bad in (-0.1, 0.31, np.nan):
        with pytest.raises(ValueError, match="r200_error must lie in"):
            rec.predict([_y_map(FRAME)], FRAME, r200_error=bad)
    with pytest.raises(TypeError, match="r200_error must be a number"):
        rec.predict([_y_map(FRAME)], FRAME, r200_error="small")
    with pytest.raises(ValueError, match="self_consistent=True"):
        rec.predict([_y_map(FRAME)], FRAME, r200_error=0.1, self_consistent=True)


def test_errors_and_warnings():
    rec = MassReconstructor(ConstantSigma(0.0), dict(META, supported=dict(META["supported"], z=[0.01, 0.1])))
    with pytest.warns(OutOfDistributionWarning, match="z = 0.200"):
        rec.predict([_y_map(FRAME)], FRAME)
    rec = MassReconstructor(ConstantSigma(0.0), META)
    with pytest.raises(TypeError, match="frame must be"):
        rec.predict([_y_map(FRAME)], "A1689")
    with pytest.raises(ValueError, match="two observations of view 'sz'"):
        rec.predict([_y_map(FRAME), _y_map(FRAME)], FRAME)
    with pytest.raises(TypeError, match="observation objects"):
        rec.predict([np.ones((32, 32))], FRAME)
    with pytest.raises(ValueError, match="at least one"):
        rec.predict([], FRAME)
    coarse = ComptonYMap(np.zeros((32, 32)), wcs=FRAME.wcs, beam=3 * FRAME.theta200)
    with pytest.raises(ValueError, match="the model supports beams"):
        rec.predict([coarse], FRAME)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec.predict([_y_map(FRAME)], FRAME)


def test_projected_ratio_against_quadrature():
    from scipy.integrate import quad

    c = 5.0
    rho = lambda r: 1 / (c * r * (1 + c * r) ** 2)  # noqa: E731
    sig = lambda rp: 2 * quad(lambda l_: rho(np.hypot(rp, l_)), 0, 1, points=[rp])[0]  # noqa: E731
    mcyl = quad(lambda rp: 2 * np.pi * rp * sig(rp), 0, 1, limit=100)[0]
    m200 = 4 * np.pi / c**3 * (np.log1p(c) - c / (1 + c))
    assert projected_to_m200_ratio(c) == pytest.approx(mcyl / m200, rel=2e-3)


def test_self_consistent_r200_gives_up_with_a_warning():
    from massrecon import NotConvergedWarning

    rec = MassReconstructor(ConstantSigma(0.0), META)
    wide = FRAME.with_npix(96, size_r200=8.0)
    frame0 = FRAME.with_r200(0.7 * FRAME.r200)
    n_grid = rec._sc_grid(frame0).size
    # the root is bracketed by the grid, but one refining prediction cannot reach rtol=1e-9
    with pytest.warns(NotConvergedWarning, match="bracketed but not refined"):
        m = rec.predict([_y_map(wide)], frame0, self_consistent=True, max_iter=1, rtol=1e-9)
    assert m.meta["NITER"] == n_grid + 1 and isinstance(m, MassMap)
    # a map implying far more mass than any supported frame: no root, the closest frame
    rec = MassReconstructor(ConstantSigma(3.0), META)
    with pytest.warns(NotConvergedWarning, match="no self-consistent R200 in the supported range.*above"):
        m = rec.predict([_y_map(wide)], frame0, self_consistent=True)
    assert m.meta["NITER"] == n_grid and m.meta["SCNROOT"] == 0 and m.meta["SCFLAG"] == "none"
    assert np.log10(m.meta["M200C"] * FRAME.cosmology.h) == pytest.approx(15.55, abs=0.01)


class FrameFollower(torch.nn.Module):
    """A 'model' whose Sigma follows an NFW-like profile scaled to the frame: the implied M200 grows
    slower than the frame's, so the self-consistent solution is unique."""

    views = ("sz", "xray", "stars")

    def forward(self, x, mask, cond):
        n = x.shape[-1]
        i = torch.arange(n, dtype=torch.float32) - (n - 1) / 2
        r = torch.hypot(i[None, :], i[:, None]) / (n / 2) + 0.05
        pixel = 10 ** (cond[:, -4] + torch.log10(torch.tensor(20.0)))  # log10(pixel_kpc / 20)
        # Sigma(R) fixed in physical units: only the frame's pixel scale changes what is seen
        rk = r[None] * pixel[:, None, None] * n / 2 / 1000.0
        return (torch.log10(1.0 / (rk * (1 + rk) ** 2)) + 1.0)[:, None]


def test_self_consistent_solution_is_independent_of_the_start():
    rec = MassReconstructor(FrameFollower(), META)
    wide = FRAME.with_npix(96, size_r200=8.0)
    finals = []
    for start in (0.75, 1.0, 1.3):
        m = rec.predict([_y_map(wide)], FRAME.with_r200(start * FRAME.r200), self_consistent=True, max_iter=20,
                        rtol=1e-4)
        finals.append(float(m.meta["R200C"]))
        assert m.meta["NITER"] <= rec._sc_grid(FRAME).size + 20
    assert max(finals) / min(finals) - 1 < 1e-3


def noise_checked_setup(noise=1e-4):
    """A reconstructor whose weights state the noise they were trained on (sz up to 3e-6), and a y
    map with ``noise`` per pixel."""
    meta = dict(META, supported=dict(META["supported"], noise={"sz": [0.0, 3e-6], "xray": [0.0, 3e37],
                                                                 "stars": [0.0, 1e5]}))
    r = FRAME.radius_grid()
    y = ComptonYMap(1e-5 / (1 + (r / 0.1) ** 2), wcs=FRAME.wcs, beam=1 * u.arcmin, noise=np.full(r.shape, noise))
    return MassReconstructor(ConstantSigma(0.0), meta), y


def test_noise_above_the_training_range_warns():
    rec, y = noise_checked_setup(1e-4)
    # so noisy that the cluster is not detected either (a second warning, massrecon.checks)
    with pytest.warns(OutOfDistributionWarning) as caught:
        rec.predict([y], FRAME, r200_error=0.0)
    assert any("sz: per-pixel noise" in str(w.message) for w in caught)
    _, quiet = noise_checked_setup(1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfDistributionWarning)
        rec.predict([quiet], FRAME, r200_error=0.0)


@pytest.mark.parametrize("tta", [False, True])
def test_predict_catalog_batches_match_predict(tta, caplog):
    """Batched forward passes give each cluster the map `predict` gives it alone; a cluster the
    observations do not cover comes back as None with the reason logged, the others unharmed."""
    torch.manual_seed(0)
    gen = UNetGenerator(base_channels=4, depth=2).eval()
    rec = MassReconstructor(gen, META)
    frames = [ClusterFrame(SkyCoord(150 + 0.3 * i, 2, unit="deg"), 0.2 + 0.05 * i, m200=(2 + i) * 1e14 * u.Msun,
                           npix=32, name=f"c{i}") for i in range(5)]
    observed = {f.name: [_y_map(f, amplitude=1e-5 * (1 + i))] for i, f in enumerate(frames)}
    observed["c2"] = [_y_map(frames[0])]  # covers another cluster: off the footprint

    def observe(frame):
        return observed[frame.name]

    maps = rec.predict_catalog(frames, observe, progress=False, batch_size=2, tta=tta, r200_error=0.1)
    assert maps[2] is None
    assert "c2" in caplog.text and "footprint" in caplog.text
    for i in (0, 1, 3, 4):
        alone = rec.predict(observe(frames[i]), frames[i], tta=tta, r200_error=0.1)
        np.testing.assert_allclose(maps[i].data, alone.data, rtol=1e-4)
        np.testing.assert_allclose(maps[i].uncertainty.array, alone.uncertainty.array, rtol=1e-4)
        assert maps[i].meta["R200ERR"] == 0.1 and maps[i].meta["OBJECT"] == f"c{i}"


def test_predict_catalog_bad_arguments():
    rec = MassReconstructor(ConstantSigma(0.0), META)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        rec.predict_catalog([FRAME], [_y_map(FRAME)], progress=False, batch_size=0)
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        rec.predict_catalog([FRAME], [_y_map(FRAME)], progress=False, tat=True)
    with pytest.raises(TypeError, match="ClusterFrame objects, got str at index 1"):
        rec.predict_catalog([FRAME, "Coma"], [_y_map(FRAME)], progress=False)


def test_predict_catalog_self_consistent_skips_a_failing_cluster(caplog):
    """With self_consistent=True, an observations callable that fails for one cluster gives None
    for it, as in the batched path, instead of stopping the catalogue."""
    rec = MassReconstructor(ConstantSigma(0.0), META)
    frames = [FRAME, FRAME.with_r200(FRAME.r200 * 1.1)]

    def observe(frame):
        if frame is frames[0]:
            raise ValueError("no y map for this cluster")
        return [_y_map(frame)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        maps = rec.predict_catalog(frames, observe, progress=False, self_consistent=True, max_iter=3)
    assert maps[0] is None and "no y map" in caplog.text
    assert isinstance(maps[1], MassMap)
