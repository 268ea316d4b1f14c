"""Benchmark of CPU training speed: generator + discriminator steps/s and samples/s.

Usage: python benchmarks/bench_training.py [GROUP ...] [--reps N] [--steps K] [--threads T]

Groups (default: all but ``compile-max``):

- ``precision``: fp32 (today), channels_last, bf16 autocast, bf16 autocast + channels_last;
- ``compile``: torch.compile (mode default) of the generator and discriminator, with and
  without bf16 autocast (compile time reported separately);
- ``compile-max``: torch.compile mode "max-autotune-no-cudagraphs";
- ``threads``: torch.set_num_threads 1 vs 2 (inter-op threads are left alone: the steps run
  one operator at a time, and torch fixes their number at the first parallel operation);
- ``batch``: batch size 16, 32, 64;
- ``slim``: narrower networks (fewer channels) and their multiply-accumulates per map;
- ``accuracy``: short training runs (``--ab-steps`` steps on a small simulated HDF5 file, same
  seed) of the settings named by ``--settings`` (``fp32``, ``bf16``, ``bf16-cl``, ``cl``, and
  ``fp32-seed2``: float32 with another seed, for the scale of seed-to-seed differences),
  printing the validation L1 and mass error of each (not in the default groups);
- ``data``: samples/s of the data pipeline (`~massrecon.training.ClusterMapDataset` with the
  augmentations of the weights recipe, on a small simulated HDF5 file).

The networks and losses are those of configs/bundled_weights.toml (base_channels 16, depth 4,
max_channels 192, ndf 16, batch 32, 80 px, views sz, xray, stars, gan_weight 0.1), built and
stepped by the functions of `massrecon.training.loop`; the batches are random tensors of the
right shapes (data loading excluded).  The configurations of a group are measured interleaved
(each repeat times every configuration once, in turn) so that the drift of a shared machine
cancels out.  Every step is timed on its own; the median, the spread (min-max) and the
speed-ups of the medians and of the best steps (the least disturbed by other processes) are
printed, per sample (so that batch sizes compare), with the median CPU time of a step (all
threads; with one thread the least noisy measure of the work, since waiting for a core costs
none).
"""

import argparse
import contextlib
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from massrecon.models import flops_per_map  # noqa: E402
from massrecon.training import TrainingConfig  # noqa: E402
from massrecon.training.loop import _build_networks, _discriminator_step, _generator_step  # noqa: E402

RECIPE = Path(__file__).resolve().parents[1] / "configs" / "bundled_weights.toml"
DEFAULT_THREADS = [2]  # --threads
WEIGHTS = ("l1_weight", "mass_weight", "profile_weight", "gan_weight", "ps_weight")


def recipe_config(**changes):
    """The TrainingConfig of the weights recipe, with ``changes``."""
    cfg = TrainingConfig.from_toml(RECIPE)
    return dataclasses.replace(cfg, data_paths=[], **changes)


def random_batch(cfg, channels_last=False, seed=0):
    """A batch of random tensors of the shapes the data sets yield."""
    g = torch.Generator().manual_seed(seed)
    b, v, n = cfg.batch_size, len(cfg.views), cfg.npix
    gen = _build_networks(cfg, torch.device("cpu")).gen
    batch = {"x": torch.randn(b, v, n, n, generator=g), "mask": torch.ones(b, v),
             "cond": torch.randn(b, gen.n_cond, generator=g), "t": torch.randn(b, 1, n, n, generator=g),
             "r200_px": torch.full((b,), n / 2.0)}
    if channels_last:
        for k in ("x", "t"):
            batch[k] = batch[k].contiguous(memory_format=torch.channels_last)
    return batch


@dataclasses.dataclass
class Case:
    """One configuration: networks, batch and the step settings."""

    name: str
    cfg: TrainingConfig
    channels_last: bool = False
    bf16: bool = False
    compile_mode: str = None
    threads: int = None
    nets: object = None
    batch: dict = None
    compile_s: float = None
    rates: list = dataclasses.field(default_factory=list)
    cpu: list = dataclasses.field(default_factory=list)

    def setup(self):
        self.threads = self.threads or DEFAULT_THREADS[0]
        torch.set_num_threads(self.threads)
        self.nets = _build_networks(self.cfg, torch.device("cpu"))
        if self.channels_last:
            self.nets.gen.to(memory_format=torch.channels_last)
            self.nets.disc.to(memory_format=torch.channels_last)
        self.nets.gen_t, self.nets.disc_t, self.nets.disc_g = self.nets.gen, self.nets.disc, self.nets.disc
        if self.compile_mode:  # as massrecon.training.loop._wrap_networks, with a choice of mode
            self.nets.gen_t = torch.compile(self.nets.gen, mode=self.compile_mode)
            self.nets.disc_t = torch.compile(self.nets.disc, mode=self.compile_mode)
            self.nets.disc_g = torch.compile(self.nets.disc, mode=self.compile_mode)
        self.batch = random_batch(self.cfg, self.channels_last)
        t0 = time.perf_counter()
        self.step()  # warm-up (and compilation)
        self.step()
        self.compile_s = time.perf_counter() - t0

    def step(self):
        amp = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()
        weights = {k: getattr(self.cfg, k) for k in WEIGHTS}
        pred, loss, _, _ = _generator_step(self.nets, self.batch, weights, amp)
        _discriminator_step(self.nets, self.batch, pred, amp)
        return float(loss.detach())

    def time(self, steps):
        """Time ``steps`` steps one by one (per-step rates: the best ones are the least disturbed)."""
        torch.set_num_threads(self.threads)
        for _ in range(steps):
            t0, c0 = time.perf_counter(), time.process_time()
            self.step()
            self.rates.append(1.0 / (time.perf_counter() - t0))
            self.cpu.append(time.process_time() - c0)


def run_group(title, cases, reps, steps, baseline=0):
    """Set up, then time the cases interleaved; print a table relative to ``cases[baseline]``."""
    print(f"\n== {title} ({reps} repeats x {steps} steps, interleaved)", flush=True)
    for c in cases:
        c.setup()
        if c.compile_mode:
            print(f"  {c.name}: compilation + 2 warm-up steps {c.compile_s:.1f} s", flush=True)
    for _ in range(reps):
        for c in cases:
            c.time(steps)
    ref = cases[baseline]
    base = statistics.median(ref.rates) * ref.cfg.batch_size
    best_base = max(ref.rates) * ref.cfg.batch_size
    print(f"  {'configuration':44s} {'steps/s':>7s} {'samples/s':>9s} {'min-max samples/s':>19s} "
          f"{'speed-up median':>15s} {'best':>5s} {'CPU s/step':>10s}")
    for c in cases:
        med = statistics.median(c.rates)
        b = c.cfg.batch_size
        spread = f"{min(c.rates) * b:.1f}-{max(c.rates) * b:.1f}"
        print(f"  {c.name:44s} {med:7.3f} {med * b:9.1f} {spread:>19s} {med * b / base:15.2f} "
              f"{max(c.rates) * b / best_base:5.2f} {statistics.median(c.cpu):10.2f}", flush=True)
    torch.set_num_threads(2)


def bench_data(n_samples=64):
    """Samples/s of ClusterMapDataset + the recipe's augmentations on a small simulated file."""
    from massrecon.simulate import SimulationConfig
    from massrecon.simulate.dataset import write_dataset
    from massrecon.training import ClusterMapDataset

    cfg = recipe_config()
    sim = SimulationConfig(seed=1, projections=4, npix=104, size_r200=2.6, z_range=(0.01, 1.0),
                           maps=("sigma_total", "compton_y", "xray_soft", "sigma_stars", "sigma_members"))
    print("\n== data pipeline (ClusterMapDataset + the recipe's augmentations, one process)", flush=True)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bench.h5")
        t0 = time.perf_counter()
        write_dataset(path, 40, sim, workers=2, progress=False)
        print(f"  simulated 40 halos x 4 projections in {time.perf_counter() - t0:.1f} s")
        for threads in (1, 2):
            torch.set_num_threads(threads)
            ds = ClusterMapDataset([path], "train", cfg.views, cfg.npix, cfg.augment, seed=0)
            ds[0]
            t0 = time.perf_counter()
            for i in range(n_samples):
                ds[i % len(ds)]
            rate = n_samples / (time.perf_counter() - t0)
            ds.close()
            print(f"  torch threads {threads}: {rate:.1f} samples/s ({cfg.batch_size / rate:.3f} s per batch of "
                  f"{cfg.batch_size})", flush=True)
    torch.set_num_threads(2)


SETTINGS = {"fp32": {}, "cl": {"channels_last": True}, "bf16": {"autocast": "bf16"},
            "bf16-cl": {"autocast": "bf16", "channels_last": True},
            "fp32-seed2": {"seed": 2}}  # the spread from the seed alone, for scale


def bench_accuracy(settings, steps, threads, workdir):
    """Train the recipe's networks for ``steps`` steps with each setting; print validation metrics."""
    from massrecon.simulate import SimulationConfig
    from massrecon.simulate.dataset import write_dataset
    from massrecon.training import train

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "ab.h5"
    if not path.is_file():  # 200 halos x 4 lines of sight, the recipe's simulation otherwise
        sim = SimulationConfig(seed=1, projections=4, npix=104, size_r200=2.6, z_range=(0.01, 1.0),
                               maps=("sigma_total", "compton_y", "xray_soft", "sigma_stars", "sigma_members"))
        write_dataset(str(path) + ".tmp", 200, sim, workers=threads, progress=False)
        os.replace(str(path) + ".tmp", path)
    print(f"\n== accuracy A/B: {steps} steps, batch 32, {threads} threads, same seed", flush=True)
    for name in settings:
        cfg = dataclasses.replace(recipe_config(), data_paths=[str(path)], steps=steps,
                                  warmup_steps=min(200, steps // 3),
                                  val_interval=steps, val_batches=8, checkpoint_interval=steps, log_interval=10,
                                  threads=threads, **SETTINGS[name])
        run = workdir / f"run_{name}"
        shutil.rmtree(run, ignore_errors=True)
        t0 = time.perf_counter()
        res = train(cfg, run, progress=False)
        dt = time.perf_counter() - t0
        m = res["metrics"]
        print(f"  {name:8s} {dt:7.1f} s ({steps * cfg.batch_size / dt:5.1f} samples/s)  final loss "
              f"{sum(res['losses'][-20:]) / 20:.4f} (mean of the last 20)  val_l1 {m['val_l1']:.4f}  "
              f"val mass bias {m['val_mass_bias_dex']:+.4f} scatter {m['val_mass_scatter_dex']:.4f} dex",
              flush=True)


def main(argv=None):
    groups_all = ("precision", "compile", "compile-max", "threads", "batch", "slim", "data", "accuracy")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("groups", nargs="*", default=[g for g in groups_all if g not in ("compile-max", "accuracy")])
    p.add_argument("--settings", nargs="+", default=["fp32", "bf16-cl"], choices=sorted(SETTINGS))
    p.add_argument("--ab-steps", type=int, default=300)
    p.add_argument("--ab-threads", type=int, default=2)
    p.add_argument("--workdir", default="runs/bench_training")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--threads", type=int, default=2, help="torch threads of every case but the threads group's")
    args = p.parse_args(argv)
    unknown = set(args.groups) - set(groups_all)
    if unknown:
        p.error(f"unknown groups {sorted(unknown)}; known: {groups_all}")
    cfg = recipe_config()
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}; recipe batch {cfg.batch_size}, {cfg.npix} px")
    gen, disc = _build_networks(cfg, torch.device("cpu")).gen, _build_networks(cfg, torch.device("cpu")).disc
    print(f"MACs per map: generator {flops_per_map(gen) / 1e6:.1f} M, discriminator {flops_per_map(disc) / 1e6:.1f} M")
    r, k = args.reps, args.steps
    DEFAULT_THREADS[0] = args.threads
    if "precision" in args.groups:
        run_group("precision and memory format", [
            Case("fp32 (today)", cfg), Case("channels_last", cfg, channels_last=True),
            Case("bf16 autocast", cfg, bf16=True), Case("bf16 autocast + channels_last", cfg, True, True)], r, k)
    if "compile" in args.groups:
        run_group("torch.compile", [
            Case("fp32 (today)", cfg), Case("compile", cfg, compile_mode="default"),
            Case("compile + bf16 autocast", cfg, bf16=True, compile_mode="default"),
            Case("bf16 autocast", cfg, bf16=True)], r, k)
    if "compile-max" in args.groups:
        run_group("torch.compile max-autotune", [
            Case("fp32 (today)", cfg), Case("compile max-autotune-no-cudagraphs", cfg,
                                            compile_mode="max-autotune-no-cudagraphs")], r, k)
    if "threads" in args.groups:
        run_group("threads", [
            Case("2 threads (today)", cfg, threads=2), Case("1 thread", cfg, threads=1),
            Case("2 threads, bf16", cfg, bf16=True, threads=2),
            Case("1 thread, bf16", cfg, bf16=True, threads=1)], r, k)
    if "batch" in args.groups:
        run_group("batch size (speed-up per sample)", [
            Case("batch 32 (today)", cfg), Case("batch 16", recipe_config(batch_size=16)),
            Case("batch 64", recipe_config(batch_size=64)),
            Case("batch 64, bf16", recipe_config(batch_size=64), bf16=True)], r, k)
    if "slim" in args.groups:
        cases = [Case("today (16/192, ndf 16)", cfg)]
        for bc, mc, ndf in ((12, 128, 16), (8, 128, 8), (16, 96, 16)):
            c = recipe_config(base_channels=bc, max_channels=mc, ndf=ndf)
            nets = _build_networks(c, torch.device("cpu"))
            macs = (flops_per_map(nets.gen) + flops_per_map(nets.disc)) / 1e6
            cases.append(Case(f"base {bc}, max {mc}, ndf {ndf} ({macs:.0f} M MACs)", c))
        run_group("slimmer networks", cases, r, k)
    if "data" in args.groups:
        bench_data()
    if "accuracy" in args.groups:
        bench_accuracy(args.settings, args.ab_steps, args.ab_threads, args.workdir)


if __name__ == "__main__":
    main()
