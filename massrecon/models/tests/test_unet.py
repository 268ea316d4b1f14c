import itertools

import numpy as np
import pytest
import torch

from massrecon.models import PatchGANDiscriminator, UNetGenerator, count_parameters, flops_per_map
from massrecon.models.transforms import VIEWS

SUBSETS = [s for k in (1, 2, 3) for s in itertools.combinations(VIEWS, k)]


@pytest.fixture(scope="module")
def gen3():
    torch.manual_seed(0)
    return UNetGenerator(base_channels=8, depth=3, max_channels=32, cond_embedding=16).eval()


@pytest.mark.parametrize("views", SUBSETS, ids=["+".join(s) for s in SUBSETS])
def test_forward_shapes_every_subset(views, gen3):
    torch.manual_seed(1)
    g = UNetGenerator(views=views, base_channels=8, depth=3, max_channels=32, cond_embedding=16)
    x = torch.randn(3, len(views), 32, 32)
    out, amp = g(x, torch.ones(3, len(views)), torch.zeros(3, g.n_cond), return_amplitude=True)
    assert out.shape == (3, 1, 32, 32) and amp.shape == (3,)
    assert torch.isfinite(out).all()
    # the same subset through the three-view model, by presence mask
    mask = torch.tensor([[float(v in views) for v in VIEWS]] * 2)
    out3 = gen3(torch.randn(2, 3, 32, 32), mask, torch.zeros(2, gen3.n_cond))
    assert out3.shape == (2, 1, 32, 32)


def test_missing_view_is_ignored(gen3):
    torch.manual_seed(2)
    x = torch.randn(1, 3, 32, 32)
    mask = torch.tensor([[1.0, 0.0, 1.0]])
    cond = torch.zeros(1, gen3.n_cond)
    x2 = x.clone()
    x2[:, 1] = 1e3 * torch.randn(32, 32)
    with torch.no_grad():
        assert torch.equal(gen3(x, mask, cond), gen3(x2, mask, cond))


def test_amplitude_is_the_disc_mean(gen3):
    from massrecon.models.unet import disc_mask

    with torch.no_grad():
        t, a = gen3(torch.randn(2, 3, 32, 32), None, torch.zeros(2, gen3.n_cond), return_amplitude=True)
    w = disc_mask(32)
    np.testing.assert_allclose((t[:, 0] * w).sum(dim=(1, 2)) / w.sum(), a, atol=1e-5)


def test_bad_inputs(gen3):
    c = torch.zeros(2, gen3.n_cond)
    with pytest.raises(ValueError, match="shape"):
        gen3(torch.zeros(2, 2, 32, 32), None, c)
    with pytest.raises(ValueError, match="divisible"):
        gen3(torch.zeros(2, 3, 36, 36), None, c)
    with pytest.raises(ValueError, match="divisible"):
        gen3(torch.zeros(2, 3, 32, 16), None, c)
    x = torch.zeros(2, 3, 32, 32)
    x[0, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        gen3(x, None, c)
    x[0, 0, 3, 3] = float("inf")
    with pytest.raises(ValueError, match="NaN or infinite"):
        gen3(x, None, c)
    with pytest.raises(ValueError, match="cond"):
        gen3(torch.zeros(2, 3, 32, 32), None, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="at least one"):
        gen3(torch.zeros(2, 3, 32, 32), torch.zeros(2, 3), c)
    with pytest.raises(ValueError, match="0 and 1"):
        gen3(torch.zeros(2, 3, 32, 32), torch.full((2, 3), 0.5), c)
    with pytest.raises(TypeError, match="torch.Tensor"):
        gen3(np.zeros((2, 3, 32, 32)), None, c)
    with pytest.raises(ValueError, match="unknown view"):
        UNetGenerator(views=("sz", "lensing"))
    with pytest.raises(TypeError, match="base_channels"):
        UNetGenerator(base_channels=8.5)
    with pytest.raises(ValueError, match="depth"):
        UNetGenerator(depth=0)


def test_discriminator_and_counts():
    d = PatchGANDiscriminator(n_views=3, ndf=8)
    out = d(torch.zeros(2, 3, 80, 80), torch.ones(2, 3), torch.zeros(2, 1, 80, 80))
    assert out.shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="t must have shape"):
        d(torch.zeros(2, 3, 80, 80), torch.ones(2, 3), torch.zeros(2, 1, 40, 40))
    with pytest.raises(ValueError, match="n_views"):
        PatchGANDiscriminator(n_views=0)
    g = UNetGenerator()
    n = count_parameters(g)
    assert 0.8e6 < n < 2.5e6
    macs = flops_per_map(g, npix=80)
    assert 5e7 < macs < 3e8
    # the count scales with the map area
    assert flops_per_map(g, npix=160) == pytest.approx(4 * macs, rel=0.02)
    with pytest.raises(TypeError):
        flops_per_map(torch.nn.Linear(2, 2))


def test_frame_integrals_are_the_physical_integrals():
    # Y, L_X and M* within the frame's R200 disc, computed here with numpy from the physical maps
    from massrecon.contract import FRAME_INTEGRAL_REFERENCE
    from massrecon.models.transforms import ViewTransform, encode_conditioning

    g = UNetGenerator(views=("sz", "xray", "stars"), base_channels=4, depth=2, integral_features=True)
    n, pixel_kpc = 16, 37.5
    rng = np.random.default_rng(3)
    phys = {"sz": 3e-5 * rng.uniform(0.5, 1.5, (n, n)), "xray": 4e36 * rng.uniform(0.5, 1.5, (n, n)),
            "stars": -2e5 * np.ones((n, n))}  # a negative (noise-dominated) map gives a negative feature
    x = torch.tensor(np.stack([ViewTransform(v).forward(phys[v]) for v in g.views])[None], dtype=torch.float32)
    cond = torch.tensor(encode_conditioning(g.views, [0.1] * 3, [0.0] * 3, pixel_kpc, 0.2)[None])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    feats = g.frame_integrals(x * mask[:, :, None, None], mask, cond)[0].numpy()
    yy, xx = np.indices((n, n)) - (n - 1) / 2
    disc = np.hypot(yy, xx) <= n / 2
    for k, v in enumerate(("sz", "xray")):
        # disc mean times the disc's area pi (R200)^2, R200 = n/2 pixels
        integral = phys[v][disc].mean() * np.pi * (n / 2 * pixel_kpc) ** 2
        assert feats[k] == pytest.approx(np.arcsinh(integral / FRAME_INTEGRAL_REFERENCE[v]) / 5, rel=1e-4)
    assert feats[2] == 0.0  # missing view
    mask_all = torch.ones(1, 3)
    neg = g.frame_integrals(x, mask_all, cond)[0, 2].item()
    assert neg < 0
    out = g(x, mask_all, cond)
    assert out.shape == (1, 1, n, n)
    assert g.config()["integral_features"] is True
    assert UNetGenerator(**g.config()).cond_mlp[0].in_features == g.n_cond + 3


def test_aperture_integrals_are_the_physical_integrals():
    # Y and L_X within fixed physical radii (kpc), computed here with numpy on a finely
    # subsampled grid: the feature must not depend on the frame's size, only on the aperture
    from massrecon.contract import FRAME_INTEGRAL_REFERENCE
    from massrecon.models.transforms import ViewTransform, encode_conditioning

    g = UNetGenerator(views=("sz", "xray"), base_channels=4, depth=2, integral_features=True,
                      integral_apertures_kpc=[150, 300])
    assert g.cond_mlp[0].in_features == g.n_cond + 4
    feats = {}
    for n, pixel_kpc in ((24, 40.0), (48, 20.0)):  # two frames, one with twice the resolution
        yy, xx = (np.indices((n, n)) - (n - 1) / 2) * pixel_kpc
        rk = np.hypot(yy, xx)
        phys = {"sz": 1e-4 * np.exp(-rk / 200.0), "xray": 1e38 * np.exp(-rk / 100.0)}
        x = torch.tensor(np.stack([ViewTransform(v).forward(phys[v]) for v in g.views])[None], dtype=torch.float32)
        cond = torch.tensor(encode_conditioning(g.views, [0.1] * 2, [0.0] * 2, pixel_kpc, 0.2)[None])
        feats[n] = g.frame_integrals(x, torch.ones(1, 2), cond)[0].numpy()
    for k, radius in enumerate((150, 300)):
        for j, (v, amp, scale) in enumerate((("sz", 1e-4, 200.0), ("xray", 1e38, 100.0))):
            # analytic: 2 pi A s^2 [1 - (1 + R/s) exp(-R/s)]
            exact = 2 * np.pi * amp * scale**2 * (1 - (1 + radius / scale) * np.exp(-radius / scale))
            want = np.arcsinh(exact / FRAME_INTEGRAL_REFERENCE[v]) / 5
            for n in feats:
                assert feats[n][2 * k + j] == pytest.approx(want, abs=0.02 / 5)
    with pytest.raises(ValueError, match="integral_apertures_kpc"):
        UNetGenerator(views=("sz",), integral_features=False, integral_apertures_kpc=[300])
    with pytest.raises(ValueError, match="integral_apertures_kpc"):
        UNetGenerator(views=("sz",), integral_features=True, integral_apertures_kpc=[-1])
    assert UNetGenerator(**g.config()).integral_apertures_kpc == [150.0, 300.0]
