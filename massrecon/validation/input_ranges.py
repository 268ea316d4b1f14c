"""Calibrate the input ranges of a set of weights on its training set (``"input_ranges"``).

`massrecon.checks` compares each view's integral within :math:`R_{500c}`, divided by its
self-similar expectation, and the stellar mass of each member galaxy with the range the model was
trained on.  This module measures those ranges: it simulates halos with the training recipe's
`~massrecon.simulate.SimulationConfig` over the weights' mass and redshift range (the halos of the
training set: same seed, same halo ids), measures the statistics on every line of sight at the
finest and the coarsest training beam, takes the 0.1-99.9 percentile envelope and widens it by
a margin:

* ``AMPLITUDE_MARGIN_DEX`` for what a finite sample misses, plus the self-similar slope times
  ``3 log10(1 + R200_ERROR_MAX)``: a frame whose R200 is good to 30% has an M500 good to a factor
  1.3^3, which moves the expectation by that much;
* ``GALAXY_MARGIN_DEX`` on the most massive galaxy.

Run it as ``python -m massrecon.validation.input_ranges massrecon/models/weights/generator.json``
(the last step of tools/train_bundled_weights.sh): it writes the ranges into the metadata under
``"input_ranges"``.  The SHA-256 in the metadata covers ``generator.pt`` only, so the weights stay
valid.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from astropy.cosmology import Planck18
from scipy.ndimage import gaussian_filter

from ..checks import _SELF_SIMILAR, INPUT_RANGES_KEY, aperture_integral, log_amplitude
from ..contract import MEMBER_MAP_MASS_LIMIT, R200_ERROR_MAX, SUPPORTED_BEAM_R200, VIEW_MAPS, VIEWS
from ..logger import log

__all__ = ["AMPLITUDE_MARGIN_DEX", "GALAXY_MARGIN_DEX", "PERCENTILES", "measure_training_inputs",
           "calibrate_input_ranges", "write_input_ranges", "main"]

#: Margin (dex) added on both sides of the amplitude envelope, besides the frame's mass error.
AMPLITUDE_MARGIN_DEX = 0.2
#: Margin (dex) above the most massive training galaxy.
GALAXY_MARGIN_DEX = 0.5
#: Percentiles of the envelope.
PERCENTILES = (0.1, 99.9)


def _training_config(metadata, projections):
    from ..simulate import SimulationConfig

    sup = metadata.get("supported", {})
    seed = metadata.get("training", {}).get("simulate_seed", 1)  # tools/simulate_training_set.sh: seed 1
    return SimulationConfig(seed=int(seed), projections=projections,
                            log_m200_range=tuple(sup.get("log10_m200_h", (13.5, 15.5))),
                            z_range=tuple(sup.get("z", (0.01, 1.0))),
                            maps=("sigma_total",) + tuple(VIEW_MAPS[v] for v in VIEWS))


def measure_training_inputs(config, n_halos, beams_r200=(SUPPORTED_BEAM_R200[0], SUPPORTED_BEAM_R200[1])):
    """log10 amplitudes of each view and the largest member mass of every simulated map.

    Parameters
    ----------
    config : `~massrecon.simulate.SimulationConfig`
    n_halos : int
        Halos ``0 ... n_halos - 1`` of ``config``.
    beams_r200 : sequence of float
        Beam FWHMs (R200) each map is measured at.

    Returns
    -------
    stats : dict
        ``{view: array of log10 amplitudes}`` and ``"log10_galaxy_mass"``: the largest member mass
        (log10 Msun) above `~massrecon.contract.MEMBER_MAP_MASS_LIMIT` of each map.

    Examples
    --------
    >>> from massrecon.simulate import SimulationConfig
    >>> from massrecon.validation.input_ranges import measure_training_inputs
    >>> cfg = SimulationConfig(projections=1, npix=40, maps=("sigma_total", "compton_y", "xray_soft",
    ...                                                       "sigma_members"))
    >>> stats = measure_training_inputs(cfg, 2, beams_r200=(0.0,))
    >>> stats["sz"].shape
    (2,)
    """
    from ..simulate.dataset import STORAGE_UNITS, simulate_halo
    from ..simulate.projection import MAP_UNITS

    out = {v: [] for v in VIEWS}
    gal = []
    limit = MEMBER_MAP_MASS_LIMIT.to_value("Msun")
    for halo_id in range(n_halos):
        maps, meta, members = simulate_halo(halo_id, config)
        for j in range(len(meta["z"])):
            pix_kpc = float(meta["pixel_kpc"][j])
            radius_pix = float(meta["r500"][j]) / pix_kpc
            for view in VIEWS:
                name = VIEW_MAPS[view]
                data = maps[name][j].astype(np.float64) * float(STORAGE_UNITS[name].to(MAP_UNITS[name]))
                for beam in beams_r200:
                    sigma = beam * config.npix / config.size_r200 / np.sqrt(8 * np.log(2))
                    sm = gaussian_filter(data, sigma, mode="constant") if sigma > 0 else data
                    value, _ = aperture_integral(sm, np.zeros(sm.shape, bool), pix_kpc, radius_pix)
                    out[view].append(log_amplitude(view, value, meta["m500"][j], meta["z"][j], Planck18))
            m = np.asarray(members[j]["mstar"])
            m = m[m >= limit]
            if m.size:
                gal.append(np.log10(m.max()))
    stats = {v: np.asarray(a) for v, a in out.items()}
    stats["log10_galaxy_mass"] = np.asarray(gal)
    return stats


def calibrate_input_ranges(metadata, n_halos=500, projections=2):
    """The ``"input_ranges"`` of a set of weights, measured on its training halos.

    Parameters
    ----------
    metadata : dict
        The weights' metadata (its ``"supported"`` mass and redshift ranges set the halos).
    n_halos, projections : int
        Halos and lines of sight per halo to measure.

    Returns
    -------
    ranges : dict
        ``{view: {"log10_amplitude": [lo, hi], ...}, "margin_dex": ..., ...}``, the ``stars`` entry
        with ``"log10_galaxy_mass"`` too.
    """
    config = _training_config(metadata, projections)
    stats = measure_training_inputs(config, n_halos)
    ranges = {}
    for view in VIEWS:
        vals = stats[view][np.isfinite(stats[view])]
        lo, hi = np.percentile(vals, PERCENTILES)
        margin = AMPLITUDE_MARGIN_DEX + _SELF_SIMILAR[view][0] * 3 * np.log10(1 + R200_ERROR_MAX)
        ranges[view] = {"log10_amplitude": [round(float(lo - margin), 3), round(float(hi + margin), 3)],
                        "envelope": [round(float(lo), 3), round(float(hi), 3)]}
    top = float(np.percentile(stats["log10_galaxy_mass"], PERCENTILES[1]))
    ranges["stars"]["log10_galaxy_mass"] = [round(float(np.log10(MEMBER_MAP_MASS_LIMIT.to_value("Msun"))), 3),
                                            round(top + GALAXY_MARGIN_DEX, 3)]
    ranges["method"] = {
        "statistic": "log10(integral within R500 / (E(z)^b (M500 / 3e14 Msun)^a)), units kpc2, erg/s, Msun",
        "simulation": json.loads(config.to_json()), "n_halos": int(n_halos),
        "beams_r200": list(SUPPORTED_BEAM_R200), "percentiles": list(PERCENTILES),
        "amplitude_margin_dex": AMPLITUDE_MARGIN_DEX, "frame_error": R200_ERROR_MAX,
        "galaxy_margin_dex": GALAXY_MARGIN_DEX,
    }
    return ranges


def write_input_ranges(metadata_path, ranges):
    """Store ``ranges`` in a weights' metadata file under `INPUT_RANGES_KEY` (keys sorted, as exported)."""
    path = Path(metadata_path)
    meta = json.loads(path.read_text())
    meta[INPUT_RANGES_KEY] = ranges
    path.write_text(json.dumps(meta, indent=1, sort_keys=True))
    log.info(f"input ranges written to {path}")


def main(argv=None):
    """``python -m massrecon.validation.input_ranges METADATA.json [--n-halos N]``."""
    p = argparse.ArgumentParser(prog="python -m massrecon.validation.input_ranges",
                                description="Calibrate the input ranges of weights on their training halos and "
                                            "store them in the metadata.")
    p.add_argument("metadata", help="the weights' metadata (generator.json)")
    p.add_argument("--n-halos", type=int, default=500, help="training halos to measure (default 500)")
    p.add_argument("--projections", type=int, default=2, help="lines of sight per halo (default 2)")
    args = p.parse_args(argv)
    meta = json.loads(Path(args.metadata).read_text())
    ranges = calibrate_input_ranges(meta, args.n_halos, args.projections)
    write_input_ranges(args.metadata, ranges)
    for view in VIEWS:
        print(f"{view}: log10 amplitude {ranges[view]['log10_amplitude']}")
    print(f"stars: log10 galaxy mass {ranges['stars']['log10_galaxy_mass']}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
