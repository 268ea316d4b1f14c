"""The self-consistent mass of the bundled weights: the same from any start, and its response to the
inputs' amplitude (issue 15), on the bundled example and on the real eFEDS cluster."""

import tempfile
import warnings

import astropy.units as u
import pytest
import torch
from astropy.coordinates import SkyCoord

from massrecon import ClusterFrame, MassReconstructor
from massrecon.observations.tests.helpers import shared_file
from massrecon.validation.self_consistent import amplitude_response


@pytest.fixture(scope="module")
def example():
    from massrecon.datasets import make_example_observations, read_example_observations

    obs, row = read_example_observations(make_example_observations(tempfile.mkdtemp()))
    frame = ClusterFrame(SkyCoord(row["ra"], row["dec"]), float(row["z"]), m500=row["m500"])
    return MassReconstructor.pretrained(), obs, frame


@pytest.mark.parametrize("views", [("sz",), ("xray",), ("stars",), ("sz", "xray", "stars")])
def test_example_solution_is_independent_of_the_start(example, views):
    rec, obs, frame = example
    out = amplitude_response(rec, [obs[v] for v in views], frame)
    # the grid spans the supported range whatever the start: 0.5x and 2x give the same R200
    assert out["r200_ratio"] < 1.05, out
    assert out["response"] > 0.1, out  # a brighter input means a more massive cluster
    _check_response(out)


def _check_response(out):
    """The scaling-relation response (within 20%), or an expected failure that states the number.

    With the "relation" method and the weights of the recalibrated gas the example's y map
    responds with 0.62 and its X-ray image 0.67, the real X-ray images with 0.56-0.69 but 0.24 on
    the shallowest XMM pointing of Abell 907 (the weights of the old gas, whose soft-band L-M
    relation was M ~ L^0.76, gave 0.73-0.93 for X-ray), so the cases beyond 20% are
    reported, not asserted (docs/validation.rst, "One answer and the amplitude response")."""
    if out["expected"] is None:
        return
    if abs(out["response"] / out["expected"] - 1) > 0.2:
        pytest.xfail(f"d ln M500 / d ln A = {out['response']:.2f}, the scaling relations say {out['expected']}")


def efeds_image():
    from massrecon.observations import XrayImage
    from massrecon.physics import energy_conversion_factor, read_arf

    nh = 3.5e20 * u.cm**-2
    band = [0.6, 1.1] * u.keV
    arf = read_arf(shared_file("efeds", "spec_020_ARF_00001.fits"), remove_psf_loss=True)
    ecf = energy_conversion_factor(arf, band, 3 * u.keV, z=0.33, nh=nh, flux="absorbed")
    return XrayImage.read_counts(shared_file("efeds", "img_0600_1100.fits.gz"),
                                 shared_file("efeds", "expmap_norm_0600_1100.fits.gz"),
                                 mask_file=shared_file("efeds", "mask.fits.gz"), band=band, ecf=ecf, nh=nh,
                                 beam=0.3 * u.arcmin, kT=3 * u.keV)


def test_efeds_one_answer_from_both_starts():
    # the lead's case (issue 15): starts at M500 = 1e14 and 4e14 gave 1.2e14 and 5.8e14, silently
    img = efeds_image()
    rec = MassReconstructor.pretrained()
    frame = ClusterFrame(SkyCoord(140.3384, 3.2906, unit="deg"), 0.33, m500=2e14 * u.Msun)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the single band is noisier than the training maps (docs/checks.rst)
        out = amplitude_response(rec, [img], frame)
    assert out["r200_ratio"] < 1.05, out
    assert out["response"] > 0, out
    _check_response(out)


class _PowerLawModel(torch.nn.Module):
    """A stand-in generator whose Sigma is the X-ray view's physical map to the power ``slope``:
    its amplitude slope is ``slope`` exactly (noise-free), whatever the map."""

    views = ("sz", "xray", "stars")

    def __init__(self, slope):
        super().__init__()
        self.slope = slope

    def forward(self, x, mask, cond):
        from massrecon.models.transforms import TargetTransform, ViewTransform

        phys = ViewTransform("xray").inverse(x[:, 1:2].double()).clamp_min(1e30) / 1e35
        return TargetTransform().forward(1e8 * phys**self.slope).float()


def test_fixed_frame_amplitude_slopes_measure_an_analytic_response(tmp_path):
    from massrecon.simulate import SimulationConfig
    from massrecon.simulate.dataset import write_dataset
    from massrecon.validation.evaluate import load_split
    from massrecon.validation.response import fixed_frame_amplitude_slopes

    path = tmp_path / "d.h5"
    cfg = SimulationConfig(projections=1, npix=32, size_r200=2.6, seed=5, z_range=(0.05, 0.5),
                           maps=("sigma_total", "compton_y", "xray_soft", "sigma_members"))
    write_dataset(path, 4, cfg, workers=1, progress=False)
    data = load_split(path, None, ("sz", "xray", "stars"))
    out = fixed_frame_amplitude_slopes(_PowerLawModel(0.5), data, noise_levels=(0.0, 1e37))
    assert [r["noise"] for r in out] == [0.0, 1e37] and out[0]["n"] == 4
    assert out[0]["median"] == pytest.approx(0.5, abs=1e-6)
    assert out[0]["p16"] == pytest.approx(0.5, abs=1e-6)
    assert 0 < out[1]["median"] <= 0.5 + 1e-6  # noise clipped at the floor dilutes the response
    with pytest.raises(ValueError, match="view"):
        fixed_frame_amplitude_slopes(_PowerLawModel(0.5), data, view="stars")
    with pytest.raises(ValueError, match="factor"):
        fixed_frame_amplitude_slopes(_PowerLawModel(0.5), data, factor=1.0)


def test_response_table_of_the_example(example):
    from massrecon.validation.response import response_table

    rec, obs, frame = example
    rst, rows = response_table(rec, [("example, y map", [obs["sz"]], frame)], progress=False)
    lines = rst.splitlines()
    assert lines[0].startswith("====") and lines[-1].startswith("====") and len(lines) == 5
    assert lines[3].startswith("example, y map") and f"{rows[0]['response']:.2f} (0.6)" in lines[3]
    # the table's masses are the solves' own: M500 from the 0.5x start and with the y map x4
    assert f"{rows[0]['m500'][0] / 1e14:.2f}" in lines[3] and f"{rows[0]['m500_scaled'] / 1e14:.2f}" in lines[3]
