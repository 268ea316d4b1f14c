"""The bundled model on fresh mock halos (used by docs/accuracy.rst).

Halos are drawn with a seed the training set never used, projected on the nominal frame
(80 px over 2 R200, no beam, no noise: the "ideal" inputs), and predicted twice: told that R200
is exact (``r200_error=0``) and that it is a +-30% estimate (``r200_error=0.3``).  The same
halos projected without their subhalos (whose mass then sits in the smooth halo) are the
"smooth-halo oracle": a prediction that knows every smooth component exactly but not the dark
subhalos, the floor for a model that cannot see them.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

from massrecon import MassReconstructor
from massrecon.apertures import aperture_weights
from massrecon.models.transforms import VIEW_MAPS, TargetTransform, ViewTransform, encode_conditioning
from massrecon.simulate import HaloModel, SimulationConfig, project_halo, projection_bases, sample_halo

N_HALOS = 32
rec = MassReconstructor.pretrained()
model, views = rec.model, rec.views
cfg = SimulationConfig(seed=2026, z_range=(0.01, 1.0))
bases = projection_bases(29)
disc = aperture_weights(80, 40.0)
truth, oracle, pred = [], [], {0.0: [], 0.3: []}
logm = []
for i in range(N_HALOS):
    halo = sample_halo(i, cfg)
    maps, _ = project_halo(HaloModel(halo), bases[i % 29], npix=80, size_r200=2.0)
    x = torch.from_numpy(np.stack([ViewTransform(v).forward(maps[VIEW_MAPS[v]]) for v in views])[None]
                         .astype(np.float32))
    beams = {v: 0.01 for v in views}  # the simulation's smoothing, as for the nominal training sample
    for err in pred:
        cond = encode_conditioning(views, beams, {v: 0.0 for v in views}, 2 * halo.r200 / 80, halo.z,
                                   r200_error=err)
        with torch.inference_mode():
            t = model(x, torch.ones(1, len(views)), torch.from_numpy(cond[None]))[0, 0].numpy()
        pred[err].append(TargetTransform().inverse(t))
    truth.append(maps["sigma_total"])
    smooth, _ = project_halo(HaloModel(halo, include={"dm", "gas", "stars", "companion"}), bases[i % 29],
                             npix=80, size_r200=2.0)
    oracle.append(smooth["sigma_total"])
    logm.append(np.log10(halo.m200))
truth, oracle = np.array(truth), np.array(oracle)
logm = np.array(logm)

fig, axes = plt.subplots(3, 4, figsize=(11, 8.4))
for col, i in enumerate(np.argsort(logm)[:: N_HALOS // 4][:4]):
    lo, hi = np.log10(truth[i]).min(), np.log10(truth[i]).max()
    for row, (img, title) in enumerate(((np.log10(truth[i]), "true log10 Sigma"),
                                        (np.log10(pred[0.0][i]), "predicted (R200 known)"))):
        axes[row, col].imshow(img, origin="lower", extent=(-1, 1, -1, 1), vmin=lo, vmax=hi)
        axes[row, col].set_title(f"{title}\nlog M200 = {logm[i]:.2f}", fontsize=8)
    im = axes[2, col].imshow(np.log10(pred[0.0][i] / truth[i]), origin="lower", extent=(-1, 1, -1, 1),
                             vmin=-0.3, vmax=0.3, cmap="RdBu_r")
    axes[2, col].set_title("log10 predicted / true", fontsize=8)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(im, ax=axes[2].tolist(), shrink=0.8, label="dex")

fig2, ax = plt.subplots(figsize=(6, 4))
for err, marker in ((0.0, "o"), (0.3, "s")):
    ratio = (np.array(pred[err]) * disc).sum(axis=(1, 2)) / (truth * disc).sum(axis=(1, 2))
    p16, p50, p84 = np.percentile(ratio, [16, 50, 84])
    ax.plot(logm, ratio, marker, mfc="none",
            label=f"r200_error = {err}: median {p50:.3f}, half 16-84% {0.5 * (p84 - p16):.3f}")
ax.axhline(1, color="k", lw=0.8)
ax.set_xlabel("log10 M200c [Msun]")
ax.set_ylabel("M(<R200) predicted / true")
ax.set_title(f"{N_HALOS} fresh mock halos, all views, ideal inputs", fontsize=9)
ax.legend(fontsize=7)
fig2.tight_layout()

# pixel scatter (half the 16-84% range of log10 pred/true) in annuli: model vs smooth-halo oracle
c = (np.arange(80) - 39.5) / 40
r = np.hypot(*np.meshgrid(c, c))
edges = np.array([0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0])
fig3, ax = plt.subplots(figsize=(6, 4))
for maps_, label in ((np.array(pred[0.0]), "model, R200 known"), (np.array(pred[0.3]), "model, R200 estimated"),
                     (oracle, "smooth-halo oracle (no subhalos)")):
    lr = np.log10(maps_ / truth)
    sc = [0.5 * np.subtract(*np.percentile(lr[:, (r >= lo) & (r < hi)], [84, 16])) for lo, hi in
          zip(edges[:-1], edges[1:])]
    tot = 0.5 * np.subtract(*np.percentile(lr[:, r < 1], [84, 16]))
    ax.step(edges, [sc[0]] + sc, where="pre", label=f"{label}: {100 * (10**tot - 1):.1f}% within R200")
ax.set_xlabel("R / R200")
ax.set_ylabel("pixel scatter of log10 Sigma [dex]")
ax.legend(fontsize=7)
fig3.tight_layout()
