"""The frame ensemble (`massrecon.frame_ensemble`) and the reconstructor's ``frame_ensemble`` option."""

import warnings

import numpy as np
import pytest

from massrecon import MassReconstructor
from massrecon.frame_ensemble import (
    DEFAULT_FRAME_ENSEMBLE,
    FRAME_ENSEMBLE_SPREAD,
    check_frame_ensemble,
    frame_ensemble_scales,
    resample_to_frame,
)
from massrecon.tests.test_reconstruct import FRAME, META, ConstantSigma, FrameFollower, _y_map, noise_checked_setup


def test_scales_span_the_spread_evenly_in_log():
    q = frame_ensemble_scales(5)
    assert q[2] == 1.0
    np.testing.assert_allclose(np.log(q), [-0.02, -0.01, 0.0, 0.01, 0.02], atol=1e-15)
    assert frame_ensemble_scales(1).tolist() == [1.0]
    assert FRAME_ENSEMBLE_SPREAD == 0.02 and DEFAULT_FRAME_ENSEMBLE % 2 == 1


@pytest.mark.parametrize("bad", [0, 2, -3, 3.0, True, "5", None])
def test_bad_ensemble_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="frame_ensemble must be a positive odd integer"):
        check_frame_ensemble(bad)


def _pixel_positions(n, pixel):
    """Physical x, y (in units of the reference pixel) of the pixel centres of a frame whose pixels are ``pixel``."""
    i = (np.arange(n) - (n - 1) / 2) * pixel
    return np.meshgrid(i, i)  # x along columns, y along rows


@pytest.mark.parametrize("scale", [0.98, 1.013, 1.02])
def test_resampling_is_exact_for_a_linear_image(scale):
    # bilinear interpolation reproduces a plane; the pixel of the scaled frame is `scale` reference pixels
    n = 32
    xs, ys = _pixel_positions(n, scale)
    image = 3.0 + 0.7 * xs - 0.2 * ys
    x0, y0 = _pixel_positions(n, 1.0)
    expected = 3.0 + 0.7 * x0 - 0.2 * y0
    got = resample_to_frame(image, scale)
    inner = slice(1, -1)  # the outermost ring may lie beyond a smaller frame (its edge value)
    np.testing.assert_allclose(got[inner, inner], expected[inner, inner], rtol=0, atol=1e-12)


def test_resampling_keeps_a_blob_in_place_and_its_mass():
    # an off-centre Gaussian sampled on a 2% larger frame lands on the reference frame's analytic Gaussian
    n, scale, sig = 80, 1.02, 4.0
    xs, ys = _pixel_positions(n, scale)
    blob = np.exp(-((xs - 5.0) ** 2 + (ys + 3.0) ** 2) / (2 * sig**2))
    x0, y0 = _pixel_positions(n, 1.0)
    truth = np.exp(-((x0 - 5.0) ** 2 + (y0 + 3.0) ** 2) / (2 * sig**2))
    got = resample_to_frame(blob, scale)
    assert np.abs(got - truth).max() < 0.01
    assert got.sum() == pytest.approx(2 * np.pi * sig**2, rel=0.01)


def test_ensemble_of_a_physical_map_is_that_map():
    # a stand-in generator whose Sigma is fixed in kpc: each frame of the ensemble sees it at another
    # pixel scale, and resampled onto the answer's pixels all agree with the frame's own map
    rec = MassReconstructor(FrameFollower(), META)
    alone = rec.predict([_y_map(FRAME)], FRAME, r200_error=0.1)
    ens = rec.predict([_y_map(FRAME)], FRAME, r200_error=0.1, frame_ensemble=5)
    r = FRAME.radius_grid() * 32 / 2  # in pixels
    ring = (r > 4) & (r < 14)  # away from the central cusp and the outermost ring
    np.testing.assert_allclose(ens.data[ring], alone.data[ring], rtol=0.01)
    assert alone.meta["FRAMEENS"] == 1 and ens.meta["FRAMEENS"] == 5
    # each frame's map on its own, and (so that the test can fail) scaled the wrong way
    for q in frame_ensemble_scales(5)[[0, -1]]:
        member = rec.predict([_y_map(FRAME)], FRAME.with_r200(FRAME.r200 * q), r200_error=0.1).data
        np.testing.assert_allclose(resample_to_frame(member, q)[ring], alone.data[ring], rtol=0.01)
        assert np.abs(resample_to_frame(member, 1 / q)[ring] / alone.data[ring] - 1).max() > 0.03


def _explicit_ensemble(rec, obs, frame, n, **kwargs):
    """The ensemble's map built by hand: each frame's own prediction, resampled and averaged."""
    return np.mean([resample_to_frame(rec.predict(obs, frame.with_r200(frame.r200 * q), **kwargs).data, q)
                    for q in frame_ensemble_scales(n)], axis=0)


def test_ensemble_is_the_mean_of_the_frames_maps():
    rec = MassReconstructor(FrameFollower(), META)
    obs = [_y_map(FRAME)]
    ens = rec.predict(obs, FRAME, r200_error=0.1, frame_ensemble=5)
    np.testing.assert_allclose(ens.data, _explicit_ensemble(rec, obs, FRAME, 5, r200_error=0.1), rtol=1e-6)
    # and not the frame's own map (the frames see the map at other pixel scales)
    assert np.abs(ens.data / rec.predict(obs, FRAME, r200_error=0.1).data - 1).max() > 1e-3


def test_self_consistent_answers_use_the_ensemble_by_default():
    rec = MassReconstructor(FrameFollower(), META)
    obs = [_y_map(FRAME.with_npix(96, size_r200=8.0))]  # covers every frame of the search
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = rec.predict(obs, FRAME, self_consistent="roots", max_iter=20, rtol=1e-4)
        one = rec.predict(obs, FRAME, self_consistent="roots", max_iter=20, rtol=1e-4, frame_ensemble=1)
    assert m.meta["FRAMEENS"] == DEFAULT_FRAME_ENSEMBLE and one.meta["FRAMEENS"] == 1
    assert m.meta["R200C"] == one.meta["R200C"]  # the roots are the single frames'
    answer = FRAME.with_r200(m.meta["R200C"] * FRAME.r200.unit)
    np.testing.assert_allclose(m.data, _explicit_ensemble(rec, obs, answer, DEFAULT_FRAME_ENSEMBLE, r200_error=0.3),
                               rtol=1e-5)


def test_frames_the_observations_cannot_fill_are_left_out(monkeypatch, caplog):
    rec = MassReconstructor(FrameFollower(), META)
    obs = [_y_map(FRAME)]
    prepare = rec._prepare

    def larger_frames_fail(observations, frame, check=True):
        if frame.r200 > FRAME.r200 * 1.001:
            raise ValueError("the frame reaches beyond the observation's footprint")
        return prepare(observations, frame, check)

    monkeypatch.setattr(rec, "_prepare", larger_frames_fail)
    m = rec.predict(obs, FRAME, r200_error=0.1, frame_ensemble=5)
    assert m.meta["FRAMEENS"] == 3 and "left out 2 of its 5 frames" in caplog.text
    kept = np.mean([resample_to_frame(rec.predict(obs, FRAME.with_r200(FRAME.r200 * q), r200_error=0.1).data, q)
                    for q in frame_ensemble_scales(5)[:3]], axis=0)
    np.testing.assert_allclose(m.data, kept, rtol=1e-6)
    # the answer's own frame failing is the same error as without the ensemble
    monkeypatch.setattr(rec, "_prepare", lambda *a, **k: (_ for _ in ()).throw(ValueError("no overlap")))
    for n in (1, 5):
        with pytest.raises(ValueError, match="no overlap"):
            rec.predict(obs, FRAME, r200_error=0.1, frame_ensemble=n)


def test_the_answer_frames_warnings_come_once():
    rec, y = noise_checked_setup(1e-4)
    for n in (1, 5):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rec.predict([y], FRAME, r200_error=0.0, frame_ensemble=n)
        assert sum("sz: per-pixel noise" in str(w.message) for w in caught) == 1, n


def test_bad_ensemble_is_refused_by_predict_and_predict_catalog():
    rec = MassReconstructor(ConstantSigma(0.0), META)
    with pytest.raises(ValueError, match="frame_ensemble"):
        rec.predict([_y_map(FRAME)], FRAME, frame_ensemble=4)
    # not swallowed as one cluster's failure
    with pytest.raises(ValueError, match="frame_ensemble"):
        rec.predict_catalog([FRAME], [_y_map(FRAME)], progress=False, frame_ensemble=0)
    maps = rec.predict_catalog([FRAME], [_y_map(FRAME)], progress=False, frame_ensemble=3, r200_error=0.2)
    assert maps[0].meta["FRAMEENS"] == 3 and np.allclose(maps[0].data, 1e8)
    # the batched path: single frames, as predict's default
    assert rec.predict_catalog([FRAME], [_y_map(FRAME)], progress=False)[0].meta["FRAMEENS"] == 1
