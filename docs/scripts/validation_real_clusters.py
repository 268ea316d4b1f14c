"""The real-cluster validation table as a figure (used by docs/validation.rst).

Reads ``docs/validation_table.ecsv`` (written with the table by ``python -m
massrecon.validation.real_clusters``): for each view set with a catalogue mass, the model's
M500 on the catalogue frame, from the scaling relations alone, and self-consistently (from the
0.5x start), against the catalogue mass corrected for the hydrostatic bias.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from astropy.table import Table
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter

# the plot directive runs this from docs/ or docs/scripts/, depending on its settings
bases = ([Path(__file__).resolve().parent] if "__file__" in globals() else []) + [Path.cwd()]
path = next(p for base in bases for p in (base / "validation_table.ecsv", base.parent / "validation_table.ecsv")
            if p.is_file())
t = Table.read(path)
t = t[np.isfinite(t["ref_true"])]
styles = {"catalogue frame": ("o", "C0", -0.2), "scaling relations": ("s", "C2", 0.0),
          "self-consistent from 0.5x": ("D", "C3", 0.2)}
labels = list(dict.fromkeys(f"{c.split(' (')[0]}\n{v} vs {r.split()[0]}"
                            for c, v, r in zip(t["cluster"], t["view_set"], t["reference"])))
fig, ax = plt.subplots(figsize=(9, 5.5))
for start, (marker, color, dx) in styles.items():
    sel = t[t["start"] == start]
    y = np.array([labels.index(f"{c.split(' (')[0]}\n{v} vs {r.split()[0]}")
                  for c, v, r in zip(sel["cluster"], sel["view_set"], sel["reference"])]) + dx
    ratio = sel["m500"] / sel["ref_true"]
    err = ratio * np.hypot(sel["m500_err"] / sel["m500"], sel["ref_true_err"] / sel["ref_true"])
    ax.errorbar(ratio, y, xerr=err, fmt=marker, color=color, label=start, capsize=2, ms=5)
ax.axvline(1.0, color="k", lw=1)
ax.set_xscale("log")
ax.set_xlim(0.2, 3.0)
ax.xaxis.set_major_locator(FixedLocator([0.25, 0.5, 1, 2]))
ax.xaxis.set_major_formatter(FixedFormatter(["0.25", "0.5", "1", "2"]))
ax.xaxis.set_minor_formatter(NullFormatter())
ax.set_yticks(range(len(labels)))
ax.set_yticklabels(labels, fontsize=7)
ax.invert_yaxis()
ax.set_xlabel("model M500 / (catalogue M500 / 0.8)   (error bars: model and catalogue in quadrature)")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
