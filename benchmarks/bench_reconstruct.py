"""Benchmarks of the reconstruction path on this machine.

1. Inference of the bundled generator: maps per second (batched) and milliseconds for one map.
2. One cluster end to end from in-memory observations (prepare + predict), no self-consistency.
3. 1,000 clusters cut from one Nside-2048 HEALPix y map (prepare only: reprojection + units),
   with the peak resident memory.
4. A catalogue of 200 of those clusters reconstructed from the HEALPix y map and an all-sky member
   catalogue of 200,000 galaxies: `MassReconstructor.predict_catalog` (batched forward passes)
   against a loop of `MassReconstructor.predict`.
5. The self-consistent solve (``"relation"``) of the bundled example's three views, with a
   single frame and with the default frame ensemble of 5 frames (seven repeats each).

Usage: python benchmarks/bench_reconstruct.py [N_CLUSTERS]
"""

import resource
import sys
import time

import astropy.units as u
import numpy as np
import torch
from astropy.coordinates import SkyCoord

from massrecon import ClusterFrame, MassReconstructor
from massrecon.observations import ComptonYMap, GalaxyMembers, HealpixComptonYMap

n_clusters = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
torch.set_num_threads(2)
rec = MassReconstructor.pretrained()
model = rec.model
x = torch.zeros(64, 3, 80, 80)
mask = torch.ones(64, 3)
cond = torch.zeros(64, model.n_cond)
with torch.inference_mode():
    model(x, mask, cond)
    t0 = time.perf_counter()
    for _ in range(5):
        model(x, mask, cond)
    batched = 5 * 64 / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(50):
        model(x[:1], mask[:1], cond[:1])
    single = (time.perf_counter() - t0) / 50 * 1e3
print(f"generator: {batched:.0f} maps/s batched (64), {single:.1f} ms for one map")

frame = ClusterFrame(SkyCoord(180, 20, unit="deg"), 0.15, m500=5e14 * u.Msun)
r = frame.radius_grid()
y = ComptonYMap(1e-5 / (1 + (r / 0.1) ** 2), wcs=frame.wcs, beam=1 * u.arcmin)
members = GalaxyMembers.from_arrays(SkyCoord([180.0, 180.05], [20.0, 20.02], unit="deg"), mstar=[3e11, 5e10] * u.Msun)
rec.predict([y, members], frame)
t0 = time.perf_counter()
for _ in range(20):
    rec.predict([y, members], frame)
print(f"one cluster end to end (y + members, in memory): {(time.perf_counter() - t0) / 20 * 1e3:.1f} ms")

nside = 2048
npixel = 12 * nside**2
rng = np.random.default_rng(0)
# float64, ~400 MB: noise on a positive level, so that every cut-out passes the sign and S/N checks
# of massrecon.checks (a pure-noise sky is rightly refused as "no cluster signal")
sky = 3e-6 + rng.normal(0, 1e-6, npixel)
hmap = HealpixComptonYMap(sky, beam=10 * u.arcmin, nested=False, frame="galactic")
ra = rng.uniform(0, 360, n_clusters)
dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n_clusters)))
frames = [ClusterFrame(SkyCoord(a, d, unit="deg"), 0.15, m500=5e14 * u.Msun) for a, d in zip(ra, dec)]
t0 = time.perf_counter()
for f in frames:
    hmap.prepare(f)
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{n_clusters} clusters cut from one Nside-{nside} HEALPix map: {dt:.1f} s "
      f"({dt / n_clusters * 1e3:.1f} ms each); peak RSS {rss:.0f} MB")

n_cat = min(200, n_clusters)
cat = frames[:n_cat]
# a member catalogue: 1,000,000 field galaxies over the sky plus 50 members within R200 of each
# cluster (an SDSS-like catalogue searched around every cluster)
n_field, n_mem = 1_000_000, 50
ra_g = [rng.uniform(0, 360, n_field)]
dec_g = [np.degrees(np.arcsin(rng.uniform(-1, 1, n_field)))]
for f in cat:
    pos = f.center.directional_offset_by(rng.uniform(0, 2 * np.pi, n_mem) * u.rad,
                                         f.theta200 * np.sqrt(rng.uniform(0, 1, n_mem)))
    ra_g.append(pos.ra.deg)
    dec_g.append(pos.dec.deg)
gal = SkyCoord(np.concatenate(ra_g), np.concatenate(dec_g), unit="deg")
n_gal = gal.size
sky_members = GalaxyMembers.from_arrays(gal, mstar=10 ** rng.uniform(10, 11.5, n_gal) * u.Msun)
rec.predict_catalog(cat[:8], [hmap, sky_members], progress=False)
t0 = time.perf_counter()
rec.predict_catalog(cat, [hmap, sky_members], progress=False)
dt_batched = time.perf_counter() - t0
t0 = time.perf_counter()
for f in cat:
    rec.predict([hmap, sky_members], f)
dt_loop = time.perf_counter() - t0
print(f"catalogue of {n_cat} clusters (HEALPix y + {n_gal} members): predict_catalog {n_cat / dt_batched:.0f} "
      f"clusters/s ({dt_batched / n_cat * 1e3:.1f} ms each), predict in a loop {n_cat / dt_loop:.0f} clusters/s")

import tempfile  # noqa: E402
import warnings  # noqa: E402

from massrecon.datasets.example import make_example_observations, read_example_observations  # noqa: E402

observations, entry = read_example_observations(make_example_observations(tempfile.mkdtemp()))
example = ClusterFrame(SkyCoord(entry["ra"], entry["dec"], unit="deg"), entry["z"], m500=entry["m500"])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    rec.predict(list(observations.values()), example, self_consistent=True)
    for n in (1, 5):
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            rec.predict(list(observations.values()), example, self_consistent=True, frame_ensemble=n)
            times.append(time.perf_counter() - t0)
        print(f"self-consistent solve of the example (3 views), frame_ensemble={n}: "
              f"{np.median(times):.3f} s median, {min(times):.3f} s fastest")
