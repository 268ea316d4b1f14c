"""Real X-ray surface-brightness profiles against the training clusters (used by docs/validation.rst).

Reads ``docs/validation_xray_profiles.ecsv`` (written by ``python tools/measure_docs_numbers.py
xray_profiles WORK/train.h5 --ecsv docs/validation_xray_profiles.ecsv``): for each real X-ray
image with a catalogue mass, the median surface brightness in rings of R200 on its catalogue
frame, and the 5-95% and 16-84% ranges of the same medians for the training maps of that M500
and redshift.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from astropy.table import Table

# the plot directive runs this from docs/ or docs/scripts/, depending on its settings
bases = ([Path(__file__).resolve().parent] if "__file__" in globals() else []) + [Path.cwd()]
path = next(p for base in bases for name in ("validation_xray_profiles.ecsv",)
            for p in (base / name, base.parent / name) if p.is_file())
t = Table.read(path)
images = list(dict.fromkeys(t["image"]))
fig, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3.6), sharey=True)
for ax, image in zip(np.atleast_1d(axes), images):
    rows = t[t["image"] == image]
    r = 0.5 * (rows["r_in"] + rows["r_out"])  # ring centres
    ax.fill_between(r, rows["p5"], rows["p95"], color="0.85", label="training maps 5-95%")
    ax.fill_between(r, rows["p16"], rows["p84"], color="0.65", label="16-84%")
    ax.plot(r, rows["p50"], color="0.3", lw=1, label="median")
    real = np.asarray(rows["real"], dtype=float)
    ax.plot(r[real > 0], real[real > 0], "o-", color="C3", ms=4, label="real image")
    ax.set_yscale("log")
    ax.set_xlim(0, 0.65)
    ax.set_xlabel("r / R200 (catalogue frame)")
    ax.set_title(f"{rows['cluster'][0]}\n{image} ({rows['n_maps'][0]} training maps)", fontsize=9)
np.atleast_1d(axes)[0].set_ylabel(r"median $S_X$ in the ring (1e35 erg s$^{-1}$ kpc$^{-2}$)")
np.atleast_1d(axes)[0].legend(fontsize=7, loc="lower left")
fig.tight_layout()
