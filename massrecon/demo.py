"""The main job on the bundled example: ``massrecon demo``.

Writes the example observation files (`massrecon.datasets`), reads them back as a user would,
reconstructs the mass map with every subset of views, and writes the mass maps (FITS), a summary
table and a figure (inputs, predictions, truth and radial profiles).
"""

import itertools
import os
import time

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

__all__ = ["run_demo"]


#: Precision of R200 from the example's catalogue mass (see `MassReconstructor.predict`).
CATALOGUE_R200_ERROR = 0.1


def run_demo(out_dir="massrecon-demo", *, overwrite=False, reconstructor=None, plot=True):
    """Run the whole path on the bundled example cluster.

    Parameters
    ----------
    out_dir : str or path-like
        Output folder.
    overwrite : bool
        Replace files from a previous run.
    reconstructor : `~massrecon.MassReconstructor`, optional
        Default: the bundled weights (`~massrecon.MassReconstructor.pretrained`).
    plot : bool
        Write ``demo.png`` (needs matplotlib).

    Returns
    -------
    summary : `~astropy.table.QTable`
        One row per view set: views, M(<R500) and M(<R200) predicted and true, pixel scatter
        within R200 and the run time.
    """
    from . import ClusterFrame, MassMap, MassReconstructor
    from .datasets import make_example_observations, read_example_observations

    out_dir = os.fspath(out_dir)
    files = make_example_observations(os.path.join(out_dir, "observations"), overwrite=overwrite)
    rec = MassReconstructor.pretrained() if reconstructor is None else reconstructor

    # --- what a user does ---------------------------------------------------------------------
    observations, row = read_example_observations(files)
    frame = ClusterFrame(SkyCoord(row["ra"], row["dec"]), float(row["z"]), m500=row["m500"],
                         name=str(row["name"]))
    truth = MassMap.read(files["truth"])

    rows, maps = [], {}
    for k in range(1, len(rec.views) + 1):
        for subset in itertools.combinations(rec.views, k):
            t0 = time.perf_counter()
            # A catalogue M500 good to ~20-30% fixes R200 to ~10% (R ~ M^(1/3)): say so to the
            # network.  (self_consistent=True finds the frame from the maps instead, with the
            # weights' scaling relations: see docs/reconstruct.rst.)
            m = rec.predict([observations[v] for v in subset], frame, r200_error=CATALOGUE_R200_ERROR)
            dt = time.perf_counter() - t0
            name = "+".join(subset)
            maps[name] = m
            m.write(os.path.join(out_dir, f"massmap_{name}.fits"), overwrite=True)
            rows.append(_summary_row(name, m, truth, dt))
    summary = QTable(rows=rows, names=list(rows[0].keys()))
    summary.meta["comments"] = [f"massrecon demo on {frame.name}: z = {frame.z}, catalogue M500 = "
                                f"{row['m500']:.3e}, true M500 = {row['m500_true']:.3e}"]
    summary.write(os.path.join(out_dir, "summary.ecsv"), format="ascii.ecsv", overwrite=True)
    if plot:
        _figure(os.path.join(out_dir, "demo.png"), observations, frame, maps, truth)
    return summary


def _summary_row(name, m, truth, dt):
    from reproject import reproject_interp

    r200 = float(m.meta["R200C"]) * u.kpc
    r500 = float(m.meta["R500C"]) * u.kpc
    # the truth lives on the true frame: put it on the predicted frame for a pixel comparison
    t_on = reproject_interp((truth.data, truth.wcs), m.wcs, shape_out=m.data.shape, order="bilinear")[0]
    t_map = type(truth)(np.nan_to_num(t_on) * truth.unit, wcs=m.wcs, pixel_kpc=m.pixel_kpc)
    c = m.center_pixel()
    yy, xx = np.indices(m.data.shape)
    inside = np.hypot(xx - c[0], yy - c[1]) * m.pixel_kpc < r200
    ratio = np.log10(m.data[inside] / np.where(t_on[inside] > 0, t_on[inside], np.nan))
    p16, p84 = np.nanpercentile(ratio, [16, 84])
    return {
        "views": name,
        "m500_pred": m.total_mass(r500),
        "m500_true": t_map.total_mass(r500),
        "m200_pred": m.total_mass(r200),
        "m200_true": t_map.total_mass(r200),
        "pixel_scatter": float(10 ** (0.5 * (p84 - p16)) - 1),
        "r200_kpc": r200,
        "iterations": int(m.meta["NITER"]),
        "seconds": dt,
    }


def _figure(path, observations, frame, maps, truth):
    # a Figure with its own Agg canvas: no pyplot, so the user's backend and figures are untouched
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from reproject import reproject_interp

    from .analysis.plotting import label_sky_axes

    best = list(maps.values())[-1]  # the largest view set
    fig = Figure(figsize=(16, 8.5))
    FigureCanvasAgg(fig)

    def sky_panel(position, image, wcs, title, **kwargs):
        # sky axes (RA/Dec) from the image's WCS, as a user would show a map
        ax = fig.add_subplot(2, 4, position, projection=wcs)
        ax.imshow(image, origin="lower", **kwargs)
        label_sky_axes(ax)
        ax.coords[0].set_ticklabel(exclude_overlapping=True)
        ax.set_title(title)
        return ax

    for i, (view, obs) in enumerate(observations.items()):
        pv = obs.prepare(frame)
        img = pv.data if view == "sz" else np.log10(np.where(pv.data > 0, pv.data, np.nan))
        sky_panel(i + 1, img, frame.wcs, f"{view} on the frame" + ("" if view == "sz" else " (log10)"))
    sky_panel(4, np.log10(truth.data), truth.wcs, "true log10 Sigma")
    sky_panel(5, np.log10(best.data), best.wcs, "predicted log10 Sigma (all views)")
    t_on = reproject_interp((truth.data, truth.wcs), best.wcs, shape_out=best.data.shape, order="bilinear")[0]
    sky_panel(6, np.log10(best.data / t_on), best.wcs, "log10(pred / true)", cmap="coolwarm", vmin=-0.3,
              vmax=0.3)
    ax = fig.add_subplot(2, 4, (7, 8))
    r200 = float(truth.meta["R200C"]) * u.kpc
    edges = np.geomspace(0.05, 1.0, 12) * r200
    r, prof, _ = truth.radial_profile(edges)
    ax.loglog(r, prof, "k-", lw=2, label="truth")
    for name, m in maps.items():
        r, prof, err = m.radial_profile(edges)
        ax.loglog(r, prof, label=name)
    ax.set_xlabel("R [kpc]")
    ax.set_ylabel(r"$\Sigma$ [M$_\odot$ kpc$^{-2}$]")
    ax.legend(fontsize=7, ncol=2)
    fig.suptitle(f"massrecon demo: {frame.name}, z = {frame.z:.2f}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
