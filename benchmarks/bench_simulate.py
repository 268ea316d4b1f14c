"""Benchmark of massrecon.simulate: maps per second and peak memory.

Usage: python benchmarks/bench_simulate.py [N_HALOS] [PROJECTIONS] [WORKERS]
Writes a seed-size-like dataset (default 100 halos x 29 projections, all maps, 80x80) to a
temporary file and prints the rate, the extrapolated time of the 5,040 x 29 seed-size set and
the peak resident memory of the main process and its workers.
"""

import os
import resource
import sys
import tempfile
import time

from massrecon.simulate import SimulationConfig
from massrecon.simulate.dataset import write_dataset

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
proj = int(sys.argv[2]) if len(sys.argv) > 2 else 29
workers = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
cfg = SimulationConfig(projections=proj)
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "bench.h5")
    t0 = time.perf_counter()
    write_dataset(path, n, cfg, workers=workers, progress=False)
    dt = time.perf_counter() - t0
    size = os.path.getsize(path)
rate = n * proj / dt
self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{n} halos x {proj} projections, {workers} workers, {os.cpu_count()} cores: {dt:.1f} s")
print(f"rate: {rate:.1f} map sets/s ({rate * len(cfg.maps):.0f} maps/s)")
print(f"seed-size set (5040 x 29) extrapolated: {5040 * 29 / rate / 60:.1f} min, "
      f"{size / (n * proj) * 5040 * 29 / 1e9:.1f} GB")
print(f"peak RSS: main {self_mb:.0f} MB, largest worker {child_mb:.0f} MB")
