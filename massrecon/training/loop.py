"""The training loop: AdamW, warm-up + decay schedule, optional PatchGAN, checkpoints with
exact resume, CSV (and TensorBoard, if installed) metrics.

A run directory holds ``config.json`` (the run's `TrainingConfig`), ``checkpoint.pt`` (the
latest checkpoint, written atomically: temporary file then `os.replace`), ``metrics.csv`` and,
when the ``tensorboard`` package is installed, ``tensorboard/``.

A checkpoint holds the generator, discriminator, both optimisers and schedulers, the python,
numpy and torch random states, the step and the data position (samples drawn by each rank), so
``train(config, run_dir, resume=True)`` continues with exactly the losses the uninterrupted run
would have had (same device, threads and world size).
"""

import contextlib
import csv
import dataclasses
import json
import math
import os
import random
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from .. import __version__
from ..exceptions import MassreconWarning
from ..logger import log
from ..models._weights import sha256_file
from ..models.unet import PatchGANDiscriminator, UNetGenerator
from .config import TrainingConfig
from .data import ClusterMapDataset, ResumableSampler
from .distributed import cleanup_distributed, setup_distributed, unwrap, wrap_ddp
from .losses import LOSS_WEIGHTS, SHAPE_ONLY_FLAGS, gan_discriminator_loss, generator_loss, log_mass_within
from .on_the_fly import DEFAULT_CACHE_SIZE, SimulatedMapDataset
from .relation_frames import RelationFrameSolver

__all__ = ["train", "lr_factor", "build_generator", "load_checkpoint", "load_init_source", "CSV_COLUMNS",
           "CHECKPOINT_NAME"]

#: File name of the latest checkpoint in a run directory.
CHECKPOINT_NAME = "checkpoint.pt"

#: Columns of ``metrics.csv``.
CSV_COLUMNS = ("step", "epoch", "lr", "loss", "l1", "mass", "profile", "ps", "gan_g", "gan_d", "samples_per_s",
               "val_l1", "val_mass_bias_dex", "val_mass_scatter_dex")


def lr_factor(step, config):
    """Learning-rate multiplier at ``step``: linear warm-up, then cosine/linear/constant decay.

    Examples
    --------
    >>> from massrecon.training import TrainingConfig
    >>> from massrecon.training.loop import lr_factor
    >>> cfg = TrainingConfig(steps=100, warmup_steps=10, min_lr_ratio=0.0)
    >>> [round(lr_factor(s, cfg), 3) for s in (0, 9, 10, 55, 100)]
    [0.1, 1.0, 1.0, 0.5, 0.0]
    """
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return 1.0
    span = max(config.steps - config.warmup_steps, 1)
    frac = min(max((step - config.warmup_steps) / span, 0.0), 1.0)
    lo = config.min_lr_ratio
    if config.schedule == "cosine":
        return lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * frac))
    return lo + (1 - lo) * (1 - frac)


def build_generator(config):
    """The `~massrecon.models.UNetGenerator` of a `TrainingConfig`.

    Examples
    --------
    >>> from massrecon.training import TrainingConfig
    >>> from massrecon.training.loop import build_generator
    >>> build_generator(TrainingConfig(views=["sz", "stars"], base_channels=4, depth=1)).views
    ('sz', 'stars')
    """
    return UNetGenerator(**config.model_kwargs())


def _rng_state():
    """The python, numpy and torch random states of this process, as plain data for a checkpoint."""
    npst = np.random.get_state(legacy=False)  # noqa: NPY002
    npst = {"bit_generator": npst["bit_generator"], "key": npst["state"]["key"].tolist(),
            "pos": int(npst["state"]["pos"]), "has_gauss": int(npst["has_gauss"]),
            "gauss": float(npst["gauss"])}
    return {"python": random.getstate(), "numpy": npst, "torch": torch.get_rng_state()}


def _set_rng_state(st):
    """Restore the random states written by `_rng_state`."""
    py = st["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = st["numpy"]
    state = {"bit_generator": n["bit_generator"],
             "state": {"key": np.array(n["key"], dtype=np.uint32), "pos": n["pos"]},
             "has_gauss": n["has_gauss"], "gauss": n["gauss"]}
    np.random.set_state(state)  # noqa: NPY002
    torch.set_rng_state(st["torch"])


def _atomic_save(obj, path):
    """`torch.save` to a temporary file, flushed to disk, then renamed: a crash never leaves a
    half-written checkpoint."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_checkpoint(path):
    """Read a checkpoint (``weights_only=True``, on the CPU).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a massrecon checkpoint.

    Examples
    --------
    The checkpoint of a tiny run of two steps (data simulated on the fly); ``path`` may be the
    run directory or the checkpoint file:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from massrecon.training import TrainingConfig, load_checkpoint, train
    >>> tmp = tempfile.TemporaryDirectory()
    >>> cfg = TrainingConfig(simulate={"n_halos": 3, "npix": 24, "size_r200": 2.6, "projections": 1},
    ...                      views=["sz"], npix=16, base_channels=4, depth=1, max_channels=8,
    ...                      cond_embedding=4, batch_size=1, steps=2, warmup_steps=1, gan_weight=0.0,
    ...                      val_batches=0)
    >>> _ = train(cfg, Path(tmp.name) / "run", progress=False)
    >>> ckpt = load_checkpoint(Path(tmp.name) / "run")
    >>> ckpt["step"], ckpt["config"]["views"], "generator" in ckpt
    (2, ['sz'], True)
    >>> TrainingConfig.from_dict(ckpt["config"]) == cfg
    True
    >>> tmp.cleanup()
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable checkpoint: {exc}") from None
    if not isinstance(ckpt, dict) or "generator" not in ckpt or "config" not in ckpt:
        raise ValueError(f"{path} is not a massrecon training checkpoint")
    return ckpt


class _Metrics:
    """``metrics.csv`` (and TensorBoard, if installed) of the main process; a resumed run drops the
    rows after its checkpoint's step."""

    def __init__(self, run_dir, resume_step, enabled):
        self.enabled = enabled
        self.path = Path(run_dir) / "metrics.csv"
        self.tb = None
        if not enabled:
            return
        rows = []
        if resume_step is not None and self.path.is_file():
            with open(self.path, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
        with open(self.path, "w", newline="") as fh:
            w = csv.DictWriter(fh, CSV_COLUMNS)
            w.writeheader()
            w.writerows(rows)
        try:  # optional
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(Path(run_dir) / "tensorboard"))
        except Exception:  # tensorboard not installed
            self.tb = None

    def write(self, row):
        if not self.enabled:
            return
        with open(self.path, "a", newline="") as fh:
            csv.DictWriter(fh, CSV_COLUMNS).writerow({k: row.get(k, "") for k in CSV_COLUMNS})
        if self.tb is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, float):
                    self.tb.add_scalar(k, v, row["step"])

    def close(self):
        if self.tb is not None:
            self.tb.close()


def _to(batch, device):
    """A batch of tensors on ``device``."""
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def _validate(gen, loader, n_batches, device):
    """L1 of the target and bias and scatter of log10 M(<R200) on ``n_batches`` validation batches."""
    gen.eval()
    l1s, dm = [], []
    for i, batch in enumerate(loader):
        if i >= n_batches:
            break
        batch = _to(batch, device)
        pred = gen(batch["x"], batch["mask"], batch["cond"]).float()
        l1s.append(float((pred - batch["t"]).abs().mean()))
        r = batch["r200_px"]
        dm.append((log_mass_within(pred, r) - log_mass_within(batch["t"], r)).cpu())
    gen.train()
    if not l1s:
        return {}
    dm = torch.cat(dm)
    return {"val_l1": float(np.mean(l1s)), "val_mass_bias_dex": float(dm.mean()),
            "val_mass_scatter_dex": float(dm.std()) if dm.numel() > 1 else 0.0}


def train(config=None, run_dir=None, resume=False, stop_at=None, progress=True):
    """Train a generator (and discriminator) and write the run directory.

    Parameters
    ----------
    config : `TrainingConfig`, str or path, optional
        Settings, or a TOML file.  With ``resume`` it may be omitted (the run's ``config.json``
        is used); if given it must equal the run's configuration.
    run_dir : str or path
        Run directory (created).  A new run refuses a directory that holds a checkpoint.
    resume : bool
        Continue from ``run_dir/checkpoint.pt``.
    stop_at : int, optional
        Stop (with a checkpoint) after this step, as an interruption would.
    progress : bool
        Show a tqdm progress bar (rank 0).

    Returns
    -------
    dict
        ``step`` (last step done), ``losses`` (generator loss of each step of this call),
        ``metrics`` (last CSV row), ``run_dir``.

    Examples
    --------
    A tiny run of two steps on data simulated on the fly (three halos of 24 pixels), without
    the adversarial term, interrupted after step 1 and resumed:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from massrecon.training import TrainingConfig, train
    >>> tmp = tempfile.TemporaryDirectory()
    >>> cfg = TrainingConfig(simulate={"n_halos": 3, "npix": 24, "size_r200": 2.6, "projections": 1},
    ...                      views=["sz"], npix=16, base_channels=4, depth=1, max_channels=8,
    ...                      cond_embedding=4, batch_size=1, steps=2, warmup_steps=1, gan_weight=0.0,
    ...                      val_batches=0)
    >>> run = Path(tmp.name) / "run"
    >>> part = train(cfg, run, stop_at=1, progress=False)
    >>> part["step"], len(part["losses"]), (run / "checkpoint.pt").is_file()
    (1, 1, True)
    >>> rest = train(None, run, resume=True, progress=False)
    >>> rest["step"], len(rest["losses"])
    (2, 1)
    >>> tmp.cleanup()
    """
    if run_dir is None:
        raise ValueError("run_dir is required")
    run_dir = Path(run_dir)
    ckpt_path = run_dir / CHECKPOINT_NAME
    ckpt = None
    if resume:
        ckpt = load_checkpoint(ckpt_path)
        saved = TrainingConfig.from_dict(ckpt["config"])
        if config is None:
            config = saved
        else:
            if not isinstance(config, TrainingConfig):
                config = TrainingConfig.from_toml(config)
            if config.to_dict() != saved.to_dict():
                raise ValueError(f"config differs from the configuration of the run in {run_dir}")
    else:
        if config is None:
            raise ValueError("config is required for a new run")
        if not isinstance(config, TrainingConfig):
            config = TrainingConfig.from_toml(config)
        if ckpt_path.exists():
            raise FileExistsError(f"{run_dir} already holds a checkpoint; resume it or choose another "
                                  "run_dir")
    if stop_at is not None and int(stop_at) < 1:
        raise ValueError(f"stop_at must be >= 1, got {stop_at}")
    if not config.data_paths and config.simulate is None:
        raise ValueError("config.data_paths names no data set (give data_paths, or a simulate table to make the "
                         "data on the fly)")

    ctx = setup_distributed()
    try:
        return _train(config, run_dir, ckpt, stop_at, progress, ctx)
    finally:
        cleanup_distributed(ctx)


@dataclasses.dataclass
class _Networks:
    """The generator and discriminator, their data-parallel wrappers, optimisers and schedules
    (the discriminator's are None with the adversarial term off)."""

    gen: torch.nn.Module
    disc: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched_g: torch.optim.lr_scheduler.LRScheduler
    sched_d: torch.optim.lr_scheduler.LRScheduler
    gen_t: torch.nn.Module = None
    disc_t: torch.nn.Module = None
    #: The discriminator as the generator's loss calls it: outside DistributedDataParallel (its
    #: weights are frozen there), compiled when the run compiles.
    disc_g: torch.nn.Module = None

    @property
    def use_gan(self):
        """Whether the run trains a discriminator."""
        return self.disc is not None


@dataclasses.dataclass
class _Data:
    """The training loader (its sampler and data set), the validation loader (None: no
    validation) and the samples of one batch on this process."""

    train_ds: torch.utils.data.Dataset
    sampler: ResumableSampler
    loader: DataLoader
    val_loader: DataLoader
    per_rank: int


def _prepare(config, run_dir, ckpt, ctx):
    """Check the batch split, set the threads, create the run directory and (new run) write
    ``config.json``."""
    if config.batch_size % ctx.world_size:
        raise ValueError(f"batch_size ({config.batch_size}) must be divisible by the number of processes "
                         f"({ctx.world_size})")
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if ckpt is None:
            (run_dir / "config.json").write_text(config.to_json())


def _build_networks(config, device):
    """Seed every random stream with ``config.seed``, then build the networks, optimisers and
    schedules (the initial weights are drawn from the seeded torch stream)."""
    random.seed(config.seed)
    np.random.seed(config.seed % 2**32)  # noqa: NPY002
    torch.manual_seed(config.seed)
    gen = build_generator(config).to(device)
    use_gan = config.gan_weight > 0
    disc = PatchGANDiscriminator(len(config.views), config.ndf).to(device) if use_gan else None
    if config.channels_last:
        # the weights' layout decides the convolutions' (the inputs need no conversion)
        gen.to(memory_format=torch.channels_last)
        if use_gan:
            disc.to(memory_format=torch.channels_last)
    opt_g = torch.optim.AdamW(gen.parameters(), lr=config.lr, betas=config.betas,
                              weight_decay=config.weight_decay)
    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, lambda s: lr_factor(s, config))
    opt_d = sched_d = None
    if use_gan:
        opt_d = torch.optim.AdamW(disc.parameters(), lr=config.lr_discriminator,
                                  betas=config.betas_discriminator, weight_decay=config.weight_decay)
        sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, lambda s: lr_factor(s, config))
    return _Networks(gen, disc, opt_g, opt_d, sched_g, sched_d)


def _restore(nets, ckpt, ctx):
    """Load the networks, optimisers, schedules and this rank's random states of a checkpoint;
    return its step."""
    nets.gen.load_state_dict(ckpt["generator"])
    nets.opt_g.load_state_dict(ckpt["opt_g"])
    nets.sched_g.load_state_dict(ckpt["sched_g"])
    if nets.use_gan:
        nets.disc.load_state_dict(ckpt["discriminator"])
        nets.opt_d.load_state_dict(ckpt["opt_d"])
        nets.sched_d.load_state_dict(ckpt["sched_d"])
    step = int(ckpt["step"])
    if int(ckpt.get("world_size", 1)) != ctx.world_size:
        raise ValueError(f"the checkpoint was written by {ckpt.get('world_size')} processes, "
                         f"this run has {ctx.world_size}")
    _set_rng_state(ckpt["rng"][ctx.rank] if isinstance(ckpt["rng"], list) else ckpt["rng"])
    return step


def _build_data(config, ctx, step):
    """The training loader of this rank, continuing after ``step`` steps, and (main process,
    ``val_batches > 0``) the validation loader."""
    per_rank = config.batch_size // ctx.world_size
    if config.simulate is not None:
        train_ds = _simulated(config, "train", config.augment, config.seed)
    else:
        train_ds = ClusterMapDataset(config.data_paths, "train", config.views, config.npix, config.augment,
                                     config.seed, in_memory=config.in_memory)
        if config.augment is not None and config.augment.relation_frame_probability > 0:
            # the relations the weights will carry: fitted on the first data set, as the validation step does
            log.info(f"fitting the scaling relations of the relation frames on {config.data_paths[0]}")
            train_ds.relation_frames = RelationFrameSolver.from_data(config.data_paths[0], views=config.views)
            train_ds.relation_frames.build_tables()  # once, before data-loader workers fork
    sampler = ResumableSampler(len(train_ds), seed=config.seed, rank=ctx.rank, world_size=ctx.world_size,
                               start=step * per_rank)
    loader = DataLoader(train_ds, batch_size=per_rank, sampler=sampler, num_workers=config.num_workers,
                        pin_memory=ctx.device.type == "cuda")
    val_loader = None
    if ctx.is_main and config.val_batches > 0:
        try:
            if config.simulate is not None:
                # every validation pass asks for the same first val_batches batches: keep them
                val_ds = _simulated(config, "validation", None, 0,
                                    cache_size=max(config.val_batches * per_rank, DEFAULT_CACHE_SIZE))
            else:
                val_ds = ClusterMapDataset(config.data_paths, "validation", config.views, config.npix, None)
        except ValueError:
            log.warning("no validation maps in the data sets: validation is off")
        else:
            val_loader = DataLoader(val_ds, batch_size=per_rank, shuffle=False, num_workers=0)
    return _Data(train_ds, sampler, loader, val_loader, per_rank)


def _generator_step(nets, batch, weights, amp):
    """One optimiser step of the generator (the discriminator frozen in its loss term).

    Returns the prediction (float32), the loss, its parts and the learning rate of the step.
    """
    x, mask, cond = batch["x"], batch["mask"], batch["cond"]
    with amp:
        pred = nets.gen_t(x, mask, cond)
    pred = pred.float()
    fake_logits = None
    if nets.use_gan:
        for p in unwrap(nets.disc_t).parameters():
            p.requires_grad_(False)
        with amp:
            fake_logits = nets.disc_g(x, mask, pred).float()
    loss, parts = generator_loss(pred, batch, weights, fake_logits)
    nets.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    nets.opt_g.step()
    lr = nets.sched_g.get_last_lr()[0]
    nets.sched_g.step()
    return pred, loss, parts, lr


def _discriminator_step(nets, batch, pred, amp):
    """One optimiser step of the discriminator on real and generated maps; returns its loss."""
    x, mask = batch["x"], batch["mask"]
    for p in unwrap(nets.disc_t).parameters():
        p.requires_grad_(True)
    with amp:
        logits = nets.disc_t(torch.cat([x, x]), torch.cat([mask, mask]),
                             torch.cat([batch["t"], pred.detach()])).float()
    n = x.shape[0]
    ld = gan_discriminator_loss(logits[:n], logits[n:])
    nets.opt_d.zero_grad(set_to_none=True)
    ld.backward()
    nets.opt_d.step()
    nets.sched_d.step()
    return float(ld.detach())


def _wrap_networks(config, nets, ctx):
    """Wrap the networks for data parallelism and (``config.compile``) compile them."""
    nets.gen_t = wrap_ddp(nets.gen, ctx)
    nets.disc_t = wrap_ddp(nets.disc, ctx) if nets.use_gan else None
    nets.disc_g = nets.disc
    if config.compile:
        nets.gen_t = torch.compile(nets.gen_t)
        if nets.use_gan:
            nets.disc_t = torch.compile(nets.disc_t)
            nets.disc_g = torch.compile(nets.disc)


def cpu_has_native_bf16():
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX).

    Without it, bfloat16 autocast on the CPU is emulated: on a 2-core AMD EPYC with AVX2 a
    training step of the recipe took 7.5 s instead of about 0.5 s in float32.
    """
    # private helpers of torch.cpu (torch >= 2.3); without them, assume no bfloat16 hardware
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(check()) for check in checks if check is not None)


def _autocast(config, device):
    """The mixed-precision context of the forward passes (``config.autocast``)."""
    native = device.type == "cuda" or cpu_has_native_bf16()
    if config.autocast == "bf16" and not native:
        warnings.warn("autocast = 'bf16' on a CPU without bfloat16 hardware (AVX512-BF16 or AMX) is emulated "
                      "and many times slower than float32; use autocast = 'auto'", MassreconWarning)
    if config.autocast == "bf16" or (config.autocast == "auto" and native):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _progress_bar(config, step, enabled):
    """A tqdm bar over the run's steps, starting at ``step`` (None when not ``enabled``)."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=config.steps, initial=step, desc="train", unit="step", dynamic_ncols=True)


def _train(config, run_dir, ckpt, stop_at, progress, ctx):
    """The body of `train` in this process: set up (or restore) the run, then step, validate,
    log and write checkpoints until ``stop_at`` or ``config.steps``."""
    _prepare(config, run_dir, ckpt, ctx)
    device = ctx.device
    nets = _build_networks(config, device)
    step = 0
    if ckpt is None and config.init_from:
        _init_from(config, nets.gen, nets.disc)
    if ckpt is not None:
        step = _restore(nets, ckpt, ctx)
    _wrap_networks(config, nets, ctx)
    data = _build_data(config, ctx, step)
    metrics = _Metrics(run_dir, step if ckpt is not None else None, ctx.is_main)
    weights = {k: getattr(config, k) for k in LOSS_WEIGHTS + SHAPE_ONLY_FLAGS}
    end = config.steps if stop_at is None else min(config.steps, int(stop_at))
    amp = _autocast(config, device)
    bar = _progress_bar(config, step, progress and ctx.is_main)
    losses = []
    row = {}
    it = iter(data.loader)
    nets.gen_t.train()
    try:
        while step < end:
            t0 = time.perf_counter()
            batch = _to(next(it), device)
            pred, loss, parts, lr = _generator_step(nets, batch, weights, amp)
            if nets.use_gan:
                parts["gan_d"] = _discriminator_step(nets, batch, pred, amp)
            step += 1
            lval = float(loss.detach())
            if not math.isfinite(lval):
                raise FloatingPointError(f"the loss became {lval} at step {step}")
            losses.append(lval)
            row = {"step": step, "epoch": (step * data.per_rank) // len(data.sampler), "lr": lr, "loss": lval,
                   "samples_per_s": config.batch_size / (time.perf_counter() - t0), **parts}
            _after_step(config, ctx, run_dir, step, end, row, nets, data, metrics, bar)
    finally:
        if bar is not None:
            bar.close()
        metrics.close()
        if hasattr(data.train_ds, "close"):
            data.train_ds.close()
    return {"step": step, "losses": losses, "metrics": row, "run_dir": str(run_dir)}


def _after_step(config, ctx, run_dir, step, end, row, nets, data, metrics, bar):
    """Validate (adding to ``row``), log ``row``, advance the bar and write a checkpoint, each
    when its interval (or the run's end) says so."""
    if data.val_loader is not None and (step % config.val_interval == 0 or step == config.steps):
        row.update(_validate(unwrap(nets.gen_t), data.val_loader, config.val_batches, ctx.device))
    if step % config.log_interval == 0 or step == end or "val_l1" in row:
        metrics.write(row)
    if bar is not None:
        bar.update(1)
        bar.set_postfix(loss=f"{row['loss']:.4g}", l1=f"{row['l1']:.3f}")
    if step % config.checkpoint_interval == 0 or step == end:
        _checkpoint(run_dir / CHECKPOINT_NAME, ctx, config, step, data.per_rank, nets)


def _simulated(config, split, augment, seed, cache_size=DEFAULT_CACHE_SIZE):
    """The `SimulatedMapDataset` of one split of the configuration's ``simulate`` table."""
    sim = config.simulate
    return SimulatedMapDataset(sim["n_halos"], config.simulation_config(), split, config.views, config.npix, augment,
                               seed, halo_start=sim["halo_start"], cache_size=cache_size)


def load_init_source(path):
    """The checkpoint-like dict of an ``init_from`` source: a training checkpoint (or run
    directory), or exported weights (``generator.pt`` beside its ``generator.json``, as
    `~massrecon.training.export_weights` writes them and massrecon ships them).

    Exported weights hold the generator only: the dict has ``config``, ``generator``, ``step``
    and ``massrecon_version`` from the metadata's ``training`` record, and ``weights``, the
    metadata itself; its checksum is verified.  This is how a user fine-tunes the bundled
    weights (package data ``massrecon/models/weights``), which come without a checkpoint.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is neither a massrecon checkpoint nor exported weights with their metadata,
        or the weights' checksum differs from their metadata's.

    Examples
    --------
    >>> from astropy.utils.data import get_pkg_data_path
    >>> from massrecon.training.loop import load_init_source
    >>> src = load_init_source(get_pkg_data_path("models", "weights", "generator.pt", package="massrecon"))
    >>> "discriminator" in src, src["weights"]["views"]
    (False, ['sz', 'xray', 'stars'])
    """
    path = Path(path)
    meta_path = path.with_suffix(".json")
    if path.is_dir() or path.suffix != ".pt" or not meta_path.is_file():
        try:
            return load_checkpoint(path)
        except ValueError as exc:
            if path.suffix == ".pt" and not path.is_dir():
                raise ValueError(f"{exc} (exported weights need their {meta_path.name} beside them)") from None
            raise
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict) or "weights_format" not in meta:
        # a checkpoint that happens to have some other JSON file beside it
        return load_checkpoint(path)
    training = meta.get("training")
    if not isinstance(training, dict) or not isinstance(training.get("config"), dict):
        raise ValueError(f"the metadata {meta_path} of the weights {path} has no training configuration "
                         "(training.config): they cannot start a run")
    if not meta.get("sha256"):
        raise ValueError(f"the metadata {meta_path} of the weights {path} has no sha256: their integrity cannot "
                         "be checked")
    if sha256_file(path) != meta["sha256"]:
        raise ValueError(f"the SHA-256 of {path} differs from the one in {meta_path}: the weights were changed "
                         "after export")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not readable as weights: {exc}") from None
    return {"config": training["config"], "generator": state, "step": int(training.get("step", 0)),
            "massrecon_version": training.get("massrecon_version"), "weights": meta}


def _init_from(config, gen, disc):
    """Start the networks from the weights of ``config.init_from`` (fine-tuning), checking that
    the architectures match.  Exported weights start the generator only (the discriminator
    starts afresh)."""
    try:
        src = load_init_source(config.init_from)
    except (FileNotFoundError, ValueError) as exc:
        raise type(exc)(f"init_from: {exc}") from None
    other = TrainingConfig.from_dict(src["config"])
    if other.model_kwargs() != config.model_kwargs():
        raise ValueError(f"init_from: the generator of {config.init_from} ({other.model_kwargs()}) differs "
                         f"from this run's ({config.model_kwargs()})")
    gen.load_state_dict(src["generator"])
    if disc is not None and "discriminator" in src:
        if other.ndf != config.ndf:
            raise ValueError(f"init_from: discriminator width ndf={other.ndf} differs from this run's "
                             f"ndf={config.ndf}")
        disc.load_state_dict(src["discriminator"])
    fresh = "" if disc is None or "discriminator" in src else "; the discriminator starts afresh"
    log.info(f"generator initialised from {config.init_from} (step {src['step']}){fresh}")


def _checkpoint(path, ctx, config, step, per_rank, nets):
    """Gather every rank's random states and (main process) write the checkpoint of ``step``."""
    rng = _rng_state()
    if ctx.world_size > 1:
        import torch.distributed as dist

        states = [None] * ctx.world_size
        dist.all_gather_object(states, rng)
        rng = states
    if ctx.is_main:
        _write_checkpoint(path, ctx, config, step, per_rank, nets, rng)
    if ctx.world_size > 1:
        # no rank may go on (and, say, resume from this file) before it is complete
        dist.barrier()


def _write_checkpoint(path, ctx, config, step, per_rank, nets, rng):
    """Write the checkpoint (atomically) from the unwrapped networks and their optimisers."""
    state = {
        "step": step,
        "samples_per_rank": step * per_rank,
        "world_size": ctx.world_size,
        "config": config.to_dict(),
        "massrecon_version": __version__,
        "generator": nets.gen.state_dict(),
        "opt_g": nets.opt_g.state_dict(),
        "sched_g": nets.sched_g.state_dict(),
        "rng": rng,
    }
    if nets.use_gan:
        state.update(discriminator=nets.disc.state_dict(), opt_d=nets.opt_d.state_dict(),
                     sched_d=nets.sched_d.state_dict())
    _atomic_save(state, path)
    log.debug(f"checkpoint at step {step} written to {path}")
