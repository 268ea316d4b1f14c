import json
import subprocess
import sys

import pytest
import torch

from massrecon.exceptions import MassreconWarning
from massrecon.models import WEIGHTS_FORMAT, UNetGenerator, load_generator
from massrecon.models._weights import sha256_file
from massrecon.models.transforms import TRANSFORM_CONSTANTS


def _write(tmp_path):
    torch.manual_seed(0)
    g = UNetGenerator(views=("sz",), base_channels=4, depth=2, max_channels=8, cond_embedding=4)
    pt = tmp_path / "generator.pt"
    torch.save(g.state_dict(), pt)
    from massrecon import __version__

    meta = {"weights_format": WEIGHTS_FORMAT, "massrecon_version": __version__, "sha256": sha256_file(pt),
            "model": {"class": "UNetGenerator", "kwargs": g.config()}, "views": ["sz"],
            "transforms": json.loads(json.dumps(TRANSFORM_CONSTANTS)), "frame": {"npix": 16, "size_r200": 2.0}}
    (tmp_path / "generator.json").write_text(json.dumps(meta))
    return g, pt, meta


def test_load_round_trip(tmp_path):
    g, pt, meta = _write(tmp_path)
    g2, meta2 = load_generator(pt)
    assert meta2 == meta and not g2.training
    x = torch.randn(1, 1, 16, 16)
    c = torch.zeros(1, g.n_cond)
    with torch.no_grad():
        assert torch.equal(g.eval()(x, None, c), g2(x, None, c))


def test_tampered_truncated_and_format(tmp_path):
    _, pt, meta = _write(tmp_path)
    data = pt.read_bytes()
    pt.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="SHA-256"):
        load_generator(pt)
    pt.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ValueError, match="SHA-256"):
        load_generator(pt)
    pt.write_bytes(data)
    with pytest.raises(ValueError, match="weights_format"):
        load_generator(pt, dict(meta, weights_format=99))
    with pytest.raises(MassreconWarning, match="exported by massrecon"):
        load_generator(pt, dict(meta, massrecon_version="99.0.0"))
    kwargs = dict(meta["model"]["kwargs"], base_channels=8)
    bad = dict(meta, model={"class": "UNetGenerator", "kwargs": kwargs})
    with pytest.raises(ValueError, match="do not fit"):
        load_generator(pt, bad)
    old = dict(meta, conditioning=["sz.log10_beam_fwhm_r200", "sz.noise_asinh", "log10_pixel_kpc", "redshift"])
    with pytest.raises(ValueError, match="conditioning features"):
        load_generator(pt, old)
    with pytest.raises(FileNotFoundError):
        load_generator(tmp_path / "nope.pt")


def test_metadata_must_match_this_version(tmp_path):
    _, pt, meta = _write(tmp_path)
    scales = dict(meta["transforms"]["view_scales"], sz=2e-6)
    with pytest.raises(ValueError, match="view_scales: file .* expected"):
        load_generator(pt, dict(meta, transforms=dict(meta["transforms"], view_scales=scales)))
    for key in ("model", "views", "transforms", "frame"):
        partial = {k: v for k, v in meta.items() if k != key}
        with pytest.raises(ValueError, match=f"lacks '{key}'"):
            load_generator(pt, partial)
    with pytest.raises(ValueError, match="frame.npix"):
        load_generator(pt, dict(meta, frame={"size_r200": 2.0}))
    with pytest.raises(ValueError, match="expected 'UNetGenerator'"):
        load_generator(pt, dict(meta, model={"class": "ResNet", "kwargs": {}}))
    bad = dict(meta, model={"class": "UNetGenerator", "kwargs": dict(meta["model"]["kwargs"], width=3)})
    with pytest.raises(ValueError, match="cannot build"):
        load_generator(pt, bad)
    with pytest.raises(ValueError, match="lists the views"):
        load_generator(pt, dict(meta, views=["xray"]))



def test_models_do_not_import_training():
    # the dependencies point one way: training uses the models, never the reverse
    code = ("import sys, massrecon.models; "
            "sys.exit(any(m.startswith('massrecon.training') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
