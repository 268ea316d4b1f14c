"""The self-consistent solve's answer and its response to the inputs' amplitude, as tables.

Two tables of ``docs/validation.rst`` ("One answer and the amplitude response", issue 15):

* `response_table`: `~massrecon.validation.self_consistent.amplitude_response` on the bundled
  example and every real cluster of ``shared/data`` (`response_cases`): the self-consistent
  R200 from starts at 0.5x and 2x the catalogue mass, and :math:`d\\ln M_{500}/d\\ln A` with the
  inputs scaled by 4;
* `fixed_frame_amplitude_slopes`: the same response on the catalogue frame, on mock maps, as
  the noise grows.

Usage::

    python -m massrecon.validation.response --out docs/validation_response.rst \\
        --mock-data heldout_data/fiducial_seed11.h5
"""

import argparse
import sys
import time

import numpy as np

from ..contract import FRAME_NPIX, R200_ERROR_MAX
from ..frame import ClusterFrame
from ..models.transforms import xray_noise_variance
from .self_consistent import amplitude_response

__all__ = ["fixed_frame_amplitude_slopes", "response_cases", "response_table", "MOCK_NOISE_LEVELS", "main"]


def fixed_frame_amplitude_slopes(model, data, *, view="xray", noise_levels=(0.0, 1e37, 1e38, 4e38, 1.5e39),
                                 background=140.0, factor=4.0, r200_error=R200_ERROR_MAX, seed=0):
    r"""How much the predicted mass follows a view's amplitude on mock maps, at several noise levels.

    Each map (cut to the true frame, the view alone, the other views absent) gets noise of the
    given per-pixel rms (for X-ray: at the reference level, Poisson-like over ``background``
    times that level, as `massrecon.validation.instruments`); then its amplitude, data and
    noise, is multiplied by ``1/factor`` and by ``factor`` (the signal-to-noise kept, the noise
    told to the network scaled alike) and the slope :math:`d\ln M(<R_{500})/d\ln A` between the
    two predictions is measured per map.  On the catalogue frame a Bayesian estimate follows the
    amplitude less than the scaling relation's 0.6, since the frame carries information too
    (about 0.3-0.45 for ``r200_error=0.3``); a slope near 0 means that the network does not read
    the amplitude at that depth.

    Parameters
    ----------
    model : `~massrecon.models.UNetGenerator`
    data : dict
        A split read by `massrecon.validation.evaluate.load_split`.
    view : {"xray", "sz"}
        The view to scale.
    noise_levels : sequence of float
        Per-pixel noise rms (physical units of the view; X-ray at the reference level).
    background : float
        X-ray background in units of the reference level.
    factor : float
        The amplitude goes from ``1/factor`` to ``factor``.
    r200_error : float
        The precision of R200 told to the network.
    seed : int
        Noise seed.

    Returns
    -------
    list of dict
        Per noise level: ``noise``, ``median``, ``p16``, ``p84`` of the slope, ``n`` maps.
    """
    from ..models.transforms import ViewTransform
    from .evaluate import _predict, _samples
    from .metrics import mass_metrics

    if view not in ("xray", "sz"):
        raise ValueError(f"view must be 'xray' or 'sz', got {view!r}")
    if not (np.isfinite(factor) and factor > 1):
        raise ValueError(f"factor must be finite and > 1, got {factor}")
    views = tuple(model.views)
    j = views.index(view)
    x0, _, conds = _samples(data, views, "ideal", FRAME_NPIX, np.random.default_rng(seed))
    tr = ViewTransform(view)
    phys = tr.inverse(x0[:, j].astype(np.float64))
    white = np.random.default_rng(seed + 1).normal(size=phys.shape)
    r500 = data["r500"] / data["r200"]
    out = []
    for rms in noise_levels:
        if rms > 0 and view == "xray":
            noisy = phys + white * np.sqrt(xray_noise_variance(phys, rms, background))
        else:
            noisy = phys + rms * white
        pred = {}
        for a in (1 / factor, factor):
            x = x0.copy()
            x[:, j] = tr.forward(noisy * a)
            cs = [(b, {**n, view: rms * a}, p, z) for b, n, p, z in conds]
            pred[a] = _predict(model, views, x, cs, (view,), r200_error=r200_error)
        slope = mass_metrics(pred[factor], pred[1 / factor], r500)["log_ratio"] / np.log10(factor**2)
        out.append({"noise": float(rms), "median": float(np.median(slope)), "p16": float(np.percentile(slope, 16)),
                    "p84": float(np.percentile(slope, 84)), "n": int(slope.size)})
    return out


def response_cases(data_dir=None):
    """The inputs of the response table: the bundled example's views and every real view set.

    Parameters
    ----------
    data_dir : str or `~pathlib.Path`, optional
        The shared data directory (default `massrecon.validation.real_clusters.DATA_DIR`); its
        clusters are left out, with a log message, when it is absent.

    Returns
    -------
    list of tuple
        ``(label, observations, frame)`` per case.
    """
    import tempfile
    from pathlib import Path

    from astropy.coordinates import SkyCoord

    from ..datasets import make_example_observations, read_example_observations
    from ..logger import log
    from . import real_clusters

    obs, row = read_example_observations(make_example_observations(tempfile.mkdtemp()))
    frame = ClusterFrame(SkyCoord(row["ra"], row["dec"]), float(row["z"]), m500=row["m500"])
    cases = [(f"example, {name}", [obs[v] for v in views], frame)
             for name, views in (("y map", ("sz",)), ("X-ray", ("xray",)), ("members", ("stars",)),
                                 ("all views", ("sz", "xray", "stars")))]
    data_dir = Path(data_dir or real_clusters.DATA_DIR)
    if not (data_dir / "realclusters").is_dir():
        log.info(f"no real clusters at {data_dir}: the response table holds the example only")
        return cases
    for vs in real_clusters.load_all(data_dir):
        cases.append((f"{vs.cluster.split(' (')[0]}, {vs.label}", vs.observations, vs.frame))
    return cases


def response_table(rec, cases, *, factor=4.0, progress=True):
    """`amplitude_response` of each case, as an RST table and a list of dicts.

    Parameters
    ----------
    rec : `~massrecon.MassReconstructor`
    cases : list of tuple
        ``(label, observations, frame)``, e.g. from `response_cases`.
    factor : float
        Amplitude scaling.
    progress : bool
        Show a progress bar.

    Returns
    -------
    rst : str
        A simple RST table: the ratio of the self-consistent R200 from the 0.5x and 2x starts,
        the self-consistent M500 (the map's, ``spherical_mass(500)``) from the 0.5x start, the
        same with the inputs scaled, the response and the scaling relations' value (a bound,
        ``>`` or ``<``, when the scaled solve found no root), the relation mass (``RELM500``)
        and its response, the ``SCFLAG`` of the three solves and the warnings raised.
    rows : list of dict
        The `amplitude_response` output of each case with its ``label``.
    """
    import warnings

    from tqdm.auto import tqdm

    rows = []
    for label, observations, frame in tqdm(cases, disable=not progress, unit="case", desc="response"):
        with warnings.catch_warnings():
            # amplitude_response records each solve's warnings for the flags column
            warnings.simplefilter("ignore")
            out = amplitude_response(rec, observations, frame, factor=factor, r200_error=R200_ERROR_MAX)
        rows.append({"label": label, **out})
    head = ("input", "R200 0.5x/2x", "M500 (1e14)", f"M500 x{factor:g}", "response (expected)",
            "relation M500", "relation response", "SCFLAG 0.5x/2x/x" + f"{factor:g}", "warnings")
    cells = []
    for r in rows:
        exp = "--" if r["expected"] is None else f"{r['expected']:.1f}"
        # no root for the scaled inputs: the mass sits at an end of the supported range, so the
        # response is only a bound
        bound = {"none": ">" if r["response"] > 0 else "<"}.get(r["flags"][-1], "")
        warn = ", ".join(sorted({w.removesuffix("Warning") if not w.startswith("failed") else w[:90]
                                 for ws in r["warnings"] for w in ws})) or "-"
        cells.append((r["label"], f"{r['r200_ratio']:.3f}", f"{r['m500'][0] / 1e14:.2f}",
                      f"{r['m500_scaled'] / 1e14:.2f}", f"{bound}{r['response']:.2f} ({exp})",
                      f"{r['relation_m500'][0] / 1e14:.2f}", f"{r['relation_response']:.2f}",
                      "/".join(r["flags"]), warn))
    return _simple_table(head, cells), rows


def _simple_table(head, cells):
    """An RST simple table of string cells, columns as wide as their widest cell."""
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip() for cell in cells]
    return "\n".join([*lines, rule, ""])


def _slope_table(rows_by_view):
    head = ("view", "noise rms per pixel", "d ln M500 / d ln A (median)", "16-84%", "maps")
    cells = [(view, f"{r['noise']:.1e}" if r["noise"] else "0 (ideal)", f"{r['median']:.2f}",
              f"{r['p16']:.2f} - {r['p84']:.2f}", str(r["n"]))
             for view, rows in rows_by_view.items() for r in rows]
    return _simple_table(head, cells)


#: Noise levels of the mock slope table: per-pixel rms (X-ray at the reference level 1e35
#: erg/s/kpc^2; eFEDS measures 4e38, eRASS1 ~1.5e39; y: Planck-like to 3e-6, the ACT and
#: Bolocam maps of MACS J0025 1.2-2.4e-5 on the frame).
MOCK_NOISE_LEVELS = {"xray": (0.0, 1e37, 1e38, 4e38, 1.5e39), "sz": (0.0, 3e-7, 1e-6, 3e-6, 2e-5)}


def main(argv=None):
    """Command line: regenerate the response tables of ``docs/validation.rst``."""
    from pathlib import Path

    from ..reconstruct import MassReconstructor

    parser = argparse.ArgumentParser(prog="python -m massrecon.validation.response",
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/validation_response.rst", help="RST include to write")
    parser.add_argument("--data", default=None, help="the shared data directory")
    parser.add_argument("--factor", type=float, default=4.0, help="amplitude scaling (default 4)")
    parser.add_argument("--mock-data", default=None,
                        help="a simulated HDF5 file (e.g. a held-out set of massrecon.validation.heldout): "
                             "also write the fixed-frame slope against noise on its maps")
    parser.add_argument("--n-maps", type=int, default=120, help="maps of --mock-data to use (default 120)")
    args = parser.parse_args(argv)
    if not args.factor > 0 or args.factor == 1:
        parser.error(f"--factor must be positive and not 1, got {args.factor}")
    if args.mock_data is not None and not Path(args.mock_data).is_file():
        parser.error(f"--mock-data: no file {args.mock_data}")
    t0 = time.perf_counter()
    rec = MassReconstructor.pretrained()
    rst, rows = response_table(rec, response_cases(args.data), factor=args.factor)
    if args.mock_data is not None:
        from .evaluate import load_split

        model = rec.model
        data = load_split(args.mock_data, None, tuple(model.views), n_max=args.n_maps, seed=0)
        slopes = {v: fixed_frame_amplitude_slopes(model, data, view=v, noise_levels=MOCK_NOISE_LEVELS[v])
                  for v in ("xray", "sz")}
        rst += f"\nFixed-frame slopes on {data['target'].shape[0]} mock maps ({Path(args.mock_data).name}):\n\n"
        rst += _slope_table(slopes)
    Path(args.out).write_text(rst, encoding="utf-8")
    print(rst)
    print(f"wrote {args.out} ({len(rows)} rows) in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
