"""The maps of one mock cluster (used by docs/simulate.rst)."""

import matplotlib.pyplot as plt
import numpy as np

from massrecon.simulate import (
    MAP_NAMES,
    MAP_UNITS,
    HaloModel,
    SimulationConfig,
    project_halo,
    projection_bases,
    sample_halo,
)

cfg = SimulationConfig(seed=1)
halo = sample_halo(12, cfg)
maps, members = project_halo(HaloModel(halo), projection_bases(29)[0])
fig, axes = plt.subplots(2, 4, figsize=(13, 6.5))
for ax, name in zip(axes.ravel(), MAP_NAMES):
    img = maps[name]
    ax.imshow(np.log10(np.clip(img, img[img > 0].min(), None)), origin="lower", extent=(-1, 1, -1, 1))
    ax.set_title(f"log10 {name}\n[{MAP_UNITS[name].to_string()}]", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 3].plot(members["x"] / halo.r200, members["y"] / halo.r200, "w.", ms=2)
fig.suptitle(f"halo {halo.halo_id}: M200 = {halo.m200:.2e} Msun, z = {halo.z:.3f}, "
             f"{'cool core' if halo.cool_core else 'non-cool core'}, {'merging' if halo.merger else ''}")
fig.tight_layout()
