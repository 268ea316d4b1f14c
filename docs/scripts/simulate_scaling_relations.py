"""Mock population vs observed scaling relations (used by docs/simulate.rst)."""

import matplotlib.pyplot as plt
import numpy as np
from astropy.cosmology import Planck18

from massrecon.simulate import HaloModel, SimulationConfig, sample_halo
from massrecon.simulate.observables import (
    arnaud10_y500,
    chiu18_mstar,
    halo_observables,
    planck13_y500,
    vikhlinin09_lx,
)

cfg = SimulationConfig(seed=5)
rows = []
for i in range(150):
    h = sample_halo(i, cfg)
    o = halo_observables(HaloModel(h))
    o["cc"] = h.cool_core
    rows.append(o)
p = {k: np.array([r[k] for r in rows]) for k in rows[0]}
m, z, cc = p["m500"], p["z"], p["cc"].astype(bool)
mm = np.logspace(np.log10(m.min()), np.log10(m.max()), 50)
zm = np.median(z)
ez = Planck18.efunc

fig, ax = plt.subplots(2, 2, figsize=(10, 8))
a = ax[0, 0]
y = p["y500"] * ez(z) ** (-2 / 3)
a.loglog(m[~cc], y[~cc], "o", ms=3, label="mock, non-cool core")
a.loglog(m[cc], y[cc], "s", ms=3, label="mock, cool core")
a.loglog(mm, arnaud10_y500(mm, zm, Planck18) * ez(zm) ** (-2 / 3), "k-", label="Arnaud+10")
a.loglog(mm, planck13_y500(mm, zm, Planck18, bias=0.0) * ez(zm) ** (-2 / 3), "k--",
         label="Planck 2013 XX (b = 0)")
a.set_xlabel(r"$M_{500}$ [M$_\odot$]")
a.set_ylabel(r"$E(z)^{-2/3} Y_{500} D_A^2$ [Mpc$^2$]")
a.legend(fontsize=8)

a = ax[0, 1]
lx = p["lx500_soft"] * ez(z) ** (-1.85)
a.loglog(m[~cc], lx[~cc], "o", ms=3)
a.loglog(m[cc], lx[cc], "s", ms=3)
ref = vikhlinin09_lx(mm, zm, Planck18) * ez(zm) ** (-1.85)
a.loglog(mm, ref, "k-", label="Vikhlinin+09")
a.fill_between(mm, ref * np.exp(-0.396), ref * np.exp(0.396), color="0.8", label=r"$\pm 1\sigma$ intrinsic")
a.set_xlabel(r"$M_{500}$ [M$_\odot$]")
a.set_ylabel(r"$E(z)^{-1.85} L_{0.5-2\,\rm keV}$ [erg s$^{-1}$]")
a.legend(fontsize=8)

a = ax[1, 0]
a.semilogx(m[~cc], p["fgas500"][~cc], "o", ms=3)
a.semilogx(m[cc], p["fgas500"][cc], "s", ms=3)
a.axhline(Planck18.Ob0 / Planck18.Om0, color="k", ls=":", label=r"$\Omega_b/\Omega_m$")
a.set_xlabel(r"$M_{500}$ [M$_\odot$]")
a.set_ylabel(r"$f_{\rm gas}(<R_{500})$")
a.legend(fontsize=8)

a = ax[1, 1]
a.loglog(m, p["mstar500"], "o", ms=3)
ref = chiu18_mstar(mm)
a.loglog(mm, ref, "k-", label="Chiu+16/18")
a.fill_between(mm, ref / 10**0.15, ref * 10**0.15, color="0.8")
a.set_xlabel(r"$M_{500}$ [M$_\odot$]")
a.set_ylabel(r"$M_*(<R_{500})$ [M$_\odot$]")
a.legend(fontsize=8)
fig.tight_layout()
