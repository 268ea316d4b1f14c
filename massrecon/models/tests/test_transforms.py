import numpy as np
import pytest
import torch

from massrecon.models.transforms import (
    TRANSFORM_CONSTANTS,
    VIEW_SCALES,
    VIEWS,
    TargetTransform,
    ViewTransform,
    conditioning_names,
    encode_conditioning,
    n_conditioning,
    validate_views,
)


@pytest.mark.parametrize("view", VIEWS)
def test_view_round_trip_numpy_and_torch(view):
    rng = np.random.default_rng(0)
    s = VIEW_SCALES[view]
    x = np.concatenate([-s * 10 ** rng.uniform(-3, 3, 50), [0.0], s * 10 ** rng.uniform(-3, 4, 50)])
    t = ViewTransform(view)
    np.testing.assert_allclose(t.inverse(t.forward(x)), x, rtol=1e-12, atol=0)
    xt = torch.from_numpy(x)
    np.testing.assert_allclose(t.inverse(t.forward(xt)).numpy(), x, rtol=1e-12, atol=0)
    np.testing.assert_allclose(t.forward(xt).numpy(), t.forward(x), rtol=1e-14)
    # odd, monotonic, linear below the scale
    assert np.all(np.diff(t.forward(np.sort(x))) > 0)
    assert t.forward(-x[5]) == pytest.approx(-t.forward(x[5]))
    assert t.forward(1e-3 * s) == pytest.approx(1e-3, rel=1e-6)


def test_target_round_trip_and_errors():
    t = TargetTransform()
    sig = 10 ** np.random.default_rng(1).uniform(4, 11, 100)
    np.testing.assert_allclose(t.inverse(t.forward(sig)), sig, rtol=1e-12)
    st = torch.from_numpy(sig)
    np.testing.assert_allclose(t.inverse(t.forward(st)).numpy(), sig, rtol=1e-12)
    assert t.forward(1e8) == 0.0
    with pytest.raises(ValueError, match="> 0"):
        t.forward(np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="> 0"):
        t.forward(torch.tensor([-1.0]))
    with pytest.raises(ValueError, match="reference"):
        TargetTransform(reference=-1)


def test_constants_are_plain_data():
    import json

    d = json.loads(json.dumps(TRANSFORM_CONSTANTS))
    assert d["view_scales"] == VIEW_SCALES
    assert d["target_reference"] == 1e8


def test_validate_views():
    assert validate_views(("stars", "xray")) == ("xray", "stars")
    assert validate_views("sz") == ("sz",)
    with pytest.raises(ValueError, match="unknown view 'lensing'"):
        validate_views(["lensing"])
    with pytest.raises(ValueError, match="at least one"):
        validate_views([])
    with pytest.raises(ValueError, match="repeat"):
        validate_views(["sz", "sz"])
    with pytest.raises(ValueError, match="unknown view"):
        ViewTransform("radio")


def test_encode_conditioning():
    views = ("sz", "xray", "stars")
    assert n_conditioning(views) == 10
    assert len(conditioning_names(views)) == 10
    c = encode_conditioning(views, {"sz": 1.0, "xray": 0.01, "stars": 0.1},
                            {"sz": 1e-6, "xray": 0, "stars": 0}, pixel_kpc=[20.0, 200.0], z=[0.1, 0.2],
                            present={"sz": True, "xray": True, "stars": False})
    assert c.shape == (2, 10)
    # beam, noise per view; log10(pixel / 20 kpc), 10 z, r200_error / 0.3 (default 0.3), 0.1 / highpass
    np.testing.assert_allclose(c[0], [1.0, np.arcsinh(1.0), -1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(c[1, 6:], [1.0, 2.0, 1.0, 0.0], rtol=1e-6)
    c0 = encode_conditioning(views, [0.1] * 3, [0.0] * 3, 20.0, 0.1, r200_error=[0.0, 0.06])
    np.testing.assert_allclose(c0[:, -2], [0.0, 0.2], rtol=1e-6)
    # a y map high-pass filtered with theta = 0.5 R200: 0.1 / 0.5; unfiltered (None, 0, inf): 0
    hp = encode_conditioning(views, [0.1] * 3, [0.0] * 3, 20.0, 0.1, sz_highpass_r200=[0.5, 0.0, np.inf])
    np.testing.assert_allclose(hp[:, -1], [0.2, 0.0, 0.0], rtol=1e-6)
    with pytest.raises(ValueError, match="sz_highpass_r200"):
        encode_conditioning(views, [0.1] * 3, [0.0] * 3, 20.0, 0.1, sz_highpass_r200=-1.0)
    for bad in (-0.1, 0.5, np.nan):
        with pytest.raises(ValueError, match="r200_error"):
            encode_conditioning(("sz",), {"sz": 0.1}, {"sz": 0.0}, 20.0, 0.1, r200_error=bad)
    with pytest.raises(ValueError, match="beam"):
        encode_conditioning(("sz",), {"sz": 0.0}, {"sz": 0.0}, 20.0, 0.1)
    with pytest.raises(ValueError, match="noise"):
        encode_conditioning(("sz",), {"sz": 0.1}, {"sz": -1.0}, 20.0, 0.1)
    with pytest.raises(ValueError, match="pixel_kpc"):
        encode_conditioning(("sz",), {"sz": 0.1}, {"sz": 0.0}, np.nan, 0.1)
    with pytest.raises(ValueError, match="lacks views"):
        encode_conditioning(("sz", "xray"), {"sz": 0.1}, {"sz": 0.0, "xray": 0.0}, 20.0, 0.1)
