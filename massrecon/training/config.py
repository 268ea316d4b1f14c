"""Configuration of a training run, read from TOML.

A configuration file may be flat or grouped in tables (``[data]``, ``[model]``, ``[optim]``,
``[loss]``, ``[run]``, ``[augment]``); table names are only for readability, except
``[augment]``, whose keys are those of `~massrecon.training.augment.AugmentConfig`.  Paths are
relative to the file's directory.

.. code-block:: toml

    [data]
    data_paths = ["train.h5"]
    views = ["sz", "xray", "stars"]

    [optim]
    batch_size = 32
    steps = 5000
    lr = 1e-3

    [loss]
    gan_weight = 1.0     # 0 switches the adversarial term (and the discriminator) off

    [augment]
    frame_jitter = [0.7, 1.3]

Instead of ``data_paths``, a ``simulate`` table makes the data on the fly with
`massrecon.simulate` (`~massrecon.training.SimulatedMapDataset`): ``n_halos`` (required),
``halo_start`` and any field of `~massrecon.simulate.SimulationConfig` but ``maps``
(``member_mass_limit``, the old name of ``catalogue_mass_limit``, is read too).

.. code-block:: toml

    [data.simulate]
    n_halos = 4000
    seed = 1
    projections = 8
    npix = 104
    size_r200 = 2.6
"""

import dataclasses
import json
import math
from pathlib import Path

import tomllib

from ..contract import FRAME_NPIX, FRAME_SIZE_R200, VIEWS
from ..models.transforms import validate_views
from ..simulate import SimulationConfig
from ..simulate.config import upgrade_stored_config
from .augment import AugmentConfig
from .losses import LOSS_WEIGHTS, SHAPE_ONLY_FLAGS

__all__ = ["TrainingConfig"]

_SECTIONS = ("data", "model", "optim", "loss", "run")

#: Values of ``TrainingConfig.autocast``.
_AUTOCAST = ("auto", "none", "bf16")

#: Keys of the ``simulate`` table besides those of SimulationConfig.  ``maps`` is left out: the
#: data set makes the maps of the views and the target, whatever the table would say.
_SIMULATE_OWN = {"n_halos": 1, "halo_start": 0}
_SIMULATE_FIELDS = {f.name: f.default for f in dataclasses.fields(SimulationConfig) if f.name != "maps"}


def _real(val):
    """Whether ``val`` is a real number (not a bool)."""
    return isinstance(val, (int, float)) and not isinstance(val, bool)


def _check_simulate(sim, augment):
    """The ``simulate`` table in canonical form (every key, JSON types), or a ValueError naming
    the key."""
    if not isinstance(sim, dict):
        raise TypeError(f"simulate must be a table (a dict), got {type(sim).__name__}")
    try:  # tables and checkpoints written before a field was renamed
        sim = upgrade_stored_config(sim)
    except ValueError as exc:
        raise ValueError(f"simulate: {exc}") from None
    known = sorted(_SIMULATE_OWN) + sorted(_SIMULATE_FIELDS)
    unknown = sorted(set(sim) - set(known))
    if unknown:
        raise ValueError(f"unknown simulate keys {unknown}; known keys: {known}")
    if "n_halos" not in sim:
        raise ValueError("simulate.n_halos (the number of halos to simulate) is required")
    out = {}
    for name, lo in _SIMULATE_OWN.items():
        val = sim.get(name, 0)
        if isinstance(val, bool) or not isinstance(val, int) or val < lo:
            raise ValueError(f"simulate.{name} must be an integer >= {lo}, got {val!r}")
        out[name] = val
    for name, default in _SIMULATE_FIELDS.items():
        val = sim.get(name, default)
        if isinstance(default, str):
            ok = isinstance(val, str)
            kind = "a string"
        elif isinstance(default, int):
            # seeds of numpy's SeedSequence must be >= 0; other counts are checked by SimulationConfig
            ok = isinstance(val, int) and not isinstance(val, bool) and (name != "seed" or val >= 0)
            kind = "an integer >= 0" if name == "seed" else "an integer"
        elif isinstance(default, float):
            ok = _real(val)
            kind = "a number"
            val = float(val) if ok else val
        else:  # a (min, max) pair
            ok = isinstance(val, (list, tuple)) and len(val) == 2 and all(_real(v) for v in val)
            kind = "a pair [min, max] of numbers"
            val = [float(v) for v in val] if ok else val
        if not ok:
            raise ValueError(f"simulate.{name} must be {kind}, got {val!r}")
        out[name] = val
    try:
        cfg = _simulation_config(out)
    except (TypeError, ValueError) as exc:
        # SimulationConfig's messages start with the field's name
        raise ValueError(f"simulate.{exc}") from None
    # The largest frame make_sample may cut (half width f R200); a smaller stored field would
    # fail in the middle of a run.
    f_max = 1.0
    if augment.r200_known_probability < 1:
        f_max = max(f_max, 1.0 - augment.r200_error[0], augment.frame_jitter[0],
                    min(1.0 + augment.r200_error[1], augment.frame_jitter[1]))
    if cfg.size_r200 < FRAME_SIZE_R200 * f_max - 1e-9:
        raise ValueError(f"simulate.size_r200 must be >= {FRAME_SIZE_R200 * f_max:.4g} (the widest augmented frame, "
                         f"from augment.frame_jitter and augment.r200_error, in R200), got {cfg.size_r200}")
    return out


def _simulation_config(sim):
    """The `~massrecon.simulate.SimulationConfig` of a canonical ``simulate`` table."""
    return SimulationConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in sim.items()
                               if k in _SIMULATE_FIELDS})


def _patch_output_size(npix):
    """Side of the patch map of `~massrecon.models.unet.PatchGANDiscriminator` for ``npix`` inputs:
    4x4 convolutions with padding 1 and strides 2, 2, 2, 1, 1."""
    n = npix
    for stride in (2, 2, 2, 1, 1):
        n = (n + 2 - 4) // stride + 1
    return n


_MIN_DISCRIMINATOR_NPIX = next(n for n in range(1, 256) if _patch_output_size(n) >= 1)


@dataclasses.dataclass
class TrainingConfig:
    """All settings of a training run.

    Parameters
    ----------
    data_paths : list of str
        HDF5 data sets (layout version 1 of `massrecon.simulate`).
    in_memory : bool
        Hold the training split's maps in memory (`~massrecon.training.ClusterMapDataset`);
        the recipe's three data sets take about 4 GB.
    simulate : dict, optional
        Instead of ``data_paths``: simulate the data on the fly
        (`~massrecon.training.SimulatedMapDataset`).  Keys ``n_halos`` (required: halos of all
        splits), ``halo_start`` (first halo id, 0) and the fields of
        `~massrecon.simulate.SimulationConfig` but ``maps`` (its defaults otherwise).  Stored
        with every key filled in, so a checkpoint pins the simulation.
    views : list of str
        Views of the model.
    npix : int
        Pixels across the model frame (default `~massrecon.contract.FRAME_NPIX`).
    base_channels, depth, max_channels, cond_embedding, amplitude_head, integral_features, integral_apertures_kpc :
        Generator hyper-parameters (`~massrecon.models.UNetGenerator`).
    ndf : int
        Width of the discriminator's first layer.
    batch_size : int
        Global batch size (split over processes under DistributedDataParallel).
    steps : int
        Optimiser steps.
    lr, lr_discriminator : float
        Peak learning rates.
    weight_decay : float
        AdamW weight decay.
    betas, betas_discriminator : pair of float
        AdamW betas.
    schedule : {"cosine", "linear", "constant"}
        Decay after the linear warm-up of ``warmup_steps``, down to ``min_lr_ratio`` times the
        peak.
    l1_weight, mass_weight, profile_weight, gan_weight, ps_weight : float
        Loss weights: L1 on ``log10 Sigma`` (pix2pix: 100), absolute error of log10 M(<R200),
        absolute error of the log10 annulus means of Sigma over 0.1-1 R200
        (`~massrecon.training.losses.profile_loss`, 0: off), adversarial term (pix2pix: 1; 0
        switches the GAN off), radially averaged power spectrum (0: off).
    l1_shape_only : bool
        Remove each sample's mean error before the pixel L1, so that it constrains the map's
        shape and the mass and profile terms alone set its amplitude (see
        `~massrecon.training.losses.l1_loss`); then ``mass_weight`` or ``profile_weight`` must
        be > 0 (a term that sets the level).
    profile_shape_only : bool
        The same for the profile term (`~massrecon.training.losses.profile_loss`); with both,
        the mass term alone sets the maps' level and ``mass_weight`` must be > 0.
    init_from : str, optional
        A checkpoint (or run directory) whose generator (and discriminator, if both runs have one)
        weights start this run: fine-tuning.  Exported weights (a ``generator.pt`` beside its
        ``generator.json``, such as the bundled ones) start the generator only, with a fresh
        discriminator.  Optimisers, schedules and the data order start afresh.  Its
        architecture and views must match.  A relative path is resolved against the TOML
        file's directory.
    checkpoint_interval, log_interval, val_interval, val_batches : int
        In steps (validation: batches of the validation split, 0 switches it off).
    seed : int
    num_workers : int
        Data-loader worker processes.
    threads : int
        Torch intra-op threads (0: torch's default).
    channels_last : bool
        Keep the networks' weights (hence their activations) in the channels-last memory format
        (see :ref:`training-speed`).
    autocast : {"auto", "none", "bf16"}
        Mixed precision of the forward passes: ``"bf16"``, bfloat16 autocast (CPU or CUDA),
        ``"none"``, float32 throughout, ``"auto"`` (the default), bfloat16 on CUDA and on CPUs
        that compute it in hardware (AVX512-BF16 or AMX), float32 on other CPUs, where bfloat16
        is emulated and many times slower (``"bf16"`` warns there).  Losses, optimiser states
        and weights stay float32.
    compile : bool
        Run the networks through `torch.compile` (default mode); the first steps then take
        longer, while it compiles.
    augment : `~massrecon.training.augment.AugmentConfig`

    Examples
    --------
    >>> from massrecon.training import TrainingConfig
    >>> cfg = TrainingConfig.from_dict({"data": {"data_paths": ["a.h5"]}, "optim": {"steps": 10}})
    >>> cfg.steps, cfg.gan_weight, cfg.augment.beam_fwhm_r200
    (10, 1.0, (0.01, 1.5))
    >>> sim = TrainingConfig.from_dict({"data": {"simulate": {"n_halos": 100, "size_r200": 2.6}}})
    >>> sim.simulate["n_halos"], sim.simulation_config().size_r200
    (100, 2.6)
    """

    data_paths: list = dataclasses.field(default_factory=list)
    views: list = dataclasses.field(default_factory=lambda: list(VIEWS))
    npix: int = FRAME_NPIX
    in_memory: bool = False
    base_channels: int = 16
    depth: int = 4
    max_channels: int = 192
    cond_embedding: int = 64
    amplitude_head: bool = True
    integral_features: bool = False
    integral_apertures_kpc: list = None
    ndf: int = 16
    batch_size: int = 32
    steps: int = 10000
    lr: float = 1e-3
    lr_discriminator: float = 2e-4
    weight_decay: float = 1e-4
    betas: tuple = (0.9, 0.999)
    betas_discriminator: tuple = (0.5, 0.999)
    schedule: str = "cosine"
    warmup_steps: int = 200
    min_lr_ratio: float = 0.02
    l1_weight: float = 100.0
    mass_weight: float = 10.0
    profile_weight: float = 0.0
    gan_weight: float = 1.0
    ps_weight: float = 0.0
    l1_shape_only: bool = False
    profile_shape_only: bool = False
    init_from: str = None
    checkpoint_interval: int = 500
    log_interval: int = 10
    val_interval: int = 500
    val_batches: int = 8
    seed: int = 0
    num_workers: int = 0
    threads: int = 0
    channels_last: bool = False
    autocast: str = "auto"
    compile: bool = False
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)
    simulate: dict = None

    def __post_init__(self):
        """Normalise the types and check every setting, naming the one at fault."""
        if isinstance(self.data_paths, (str, Path)):
            self.data_paths = [self.data_paths]
        self.data_paths = [str(p) for p in self.data_paths]
        self.in_memory = bool(self.in_memory)
        self.views = list(validate_views(self.views))
        if isinstance(self.augment, dict):
            self.augment = AugmentConfig(**self.augment)
        if not isinstance(self.augment, AugmentConfig):
            raise TypeError(f"augment must be an AugmentConfig or a dict, got {type(self.augment).__name__}")
        ints = dict(npix=8, base_channels=2, depth=1, max_channels=2, cond_embedding=1, ndf=2, batch_size=1,
                    steps=1, warmup_steps=0, checkpoint_interval=1, log_interval=1, val_interval=1,
                    val_batches=0, num_workers=0, threads=0)
        for name, lo in ints.items():
            val = getattr(self, name)
            if isinstance(val, bool) or not isinstance(val, int):
                raise TypeError(f"{name} must be an integer, got {val!r}")
            if val < lo:
                raise ValueError(f"{name} must be >= {lo}, got {val}")
        if self.npix % 2**self.depth:
            raise ValueError(f"npix ({self.npix}) must be divisible by 2**depth ({2**self.depth})")
        for name in ("lr", "lr_discriminator"):
            val = float(getattr(self, name))
            if not (math.isfinite(val) and val > 0):
                raise ValueError(f"{name} must be finite and > 0, got {val}")
            setattr(self, name, val)
        for name in ("weight_decay",) + LOSS_WEIGHTS:
            val = float(getattr(self, name))
            if not (math.isfinite(val) and val >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {val}")
            setattr(self, name, val)
        if sum(getattr(self, name) for name in LOSS_WEIGHTS) == 0:
            raise ValueError("at least one loss weight must be > 0")
        self._check_shape_only()
        if self.gan_weight > 0 and _patch_output_size(self.npix) < 1:
            raise ValueError(f"npix = {self.npix} is too small for the discriminator (five 4x4 convolutions, three "
                             f"of stride 2, need npix >= {_MIN_DISCRIMINATOR_NPIX}): use a larger npix, or "
                             "gan_weight = 0 to train without it")
        for name in ("betas", "betas_discriminator"):
            val = tuple(float(b) for b in getattr(self, name))
            if len(val) != 2 or not all(0 <= b < 1 for b in val):
                raise ValueError(f"{name} must be two numbers in [0, 1), got {getattr(self, name)!r}")
            setattr(self, name, val)
        if self.schedule not in ("cosine", "linear", "constant"):
            raise ValueError(f"schedule must be 'cosine', 'linear' or 'constant', got {self.schedule!r}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must lie in [0, 1], got {self.min_lr_ratio}")
        if self.init_from is not None:
            if not isinstance(self.init_from, (str, Path)) or not str(self.init_from):
                raise TypeError(f"init_from must be a path to a checkpoint, a run directory or exported weights "
                                f"(generator.pt), got {self.init_from!r}")
            self.init_from = str(self.init_from)
        self.amplitude_head = bool(self.amplitude_head)
        for name in ("channels_last", "compile", "integral_features"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.integral_apertures_kpc is not None:
            aps = self.integral_apertures_kpc
            if not isinstance(aps, (list, tuple)) or not aps or not all(
                    isinstance(a, (int, float)) and not isinstance(a, bool) and 0 < a < float("inf") for a in aps):
                raise ValueError(f"integral_apertures_kpc must be a list of radii > 0 in kpc, got {aps!r}")
            if not self.integral_features:
                raise ValueError("integral_apertures_kpc needs integral_features = true")
            self.integral_apertures_kpc = [float(a) for a in aps]
        if self.autocast not in _AUTOCAST:
            raise ValueError(f"autocast must be one of {_AUTOCAST}, got {self.autocast!r}")
        self.seed = int(self.seed)
        if self.simulate is not None:
            if self.data_paths:
                raise ValueError("give either data_paths (HDF5 files) or simulate (data made on the fly), not both")
            if self.augment is not None and self.augment.relation_frame_probability > 0:
                raise ValueError("augment.relation_frame_probability > 0 needs data_paths (the relations are fitted "
                                 "on the first data set), not simulate")
            self.simulate = _check_simulate(self.simulate, self.augment)

    def _check_shape_only(self):
        """The shape-only loss flags are booleans, and some term is left to set the maps' level."""
        for name in SHAPE_ONLY_FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be true or false, got {getattr(self, name)!r}")
        level = (self.mass_weight + (0.0 if self.profile_shape_only else self.profile_weight)
                 + (0.0 if self.l1_shape_only else self.l1_weight))
        if (self.l1_shape_only or self.profile_shape_only) and level == 0:
            raise ValueError("l1_shape_only / profile_shape_only leave the maps' level to the other terms: "
                             "mass_weight, or a profile_weight or l1_weight that is not shape-only, must be > 0")

    def simulation_config(self):
        """The `~massrecon.simulate.SimulationConfig` of the ``simulate`` table (None without
        one)."""
        return None if self.simulate is None else _simulation_config(self.simulate)

    # ------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d, base_dir=None):
        """Build from a (possibly sectioned) mapping; relative data paths are resolved against
        ``base_dir`` when given."""
        if not isinstance(d, dict):
            raise TypeError(f"a training configuration must be a mapping, got {type(d).__name__}")
        flat = {}
        for key, val in d.items():
            if key in _SECTIONS:
                if not isinstance(val, dict):
                    raise TypeError(f"[{key}] must be a table")
                for k2, v2 in val.items():
                    if k2 in flat:
                        raise ValueError(f"configuration key {k2!r} given twice")
                    flat[k2] = v2
            else:
                if key in flat:
                    raise ValueError(f"configuration key {key!r} given twice")
                flat[key] = val
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(flat) - names)
        if unknown:
            raise ValueError(f"unknown training configuration keys {unknown}; known keys: {sorted(names)}")
        if base_dir is not None and "data_paths" in flat:
            paths = flat["data_paths"]
            paths = [paths] if isinstance(paths, str) else paths
            flat["data_paths"] = [str(Path(base_dir) / p) if not Path(p).is_absolute() else p for p in paths]
        if base_dir is not None and flat.get("init_from") and not Path(flat["init_from"]).is_absolute():
            flat["init_from"] = str(Path(base_dir) / flat["init_from"])
        return cls(**flat)

    @classmethod
    def from_toml(cls, path):
        """Read a TOML file (see the module docstring)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"training configuration {path} not found")
        with open(path, "rb") as fh:
            try:
                d = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"{path} is not valid TOML: {exc}") from None
        return cls.from_dict(d, base_dir=path.resolve().parent)

    def to_dict(self):
        """Plain-data (JSON-serialisable) copy."""
        d = {}
        for f in dataclasses.fields(self):
            val = getattr(self, f.name)
            if f.name == "simulate":
                if val is None:
                    continue  # HDF5 runs keep the config.json and checkpoints they always had
                val = {k: (list(v) if isinstance(v, list) else v) for k, v in val.items()}
            if isinstance(val, AugmentConfig):
                val = val.to_dict()
            elif isinstance(val, tuple):
                val = list(val)
            d[f.name] = val
        return d

    def to_json(self):
        """JSON text of `to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text):
        """Inverse of `to_json`."""
        return cls.from_dict(json.loads(text))

    def model_kwargs(self):
        """Keyword arguments of `~massrecon.models.UNetGenerator`."""
        return dict(views=tuple(self.views), base_channels=self.base_channels, depth=self.depth,
                    max_channels=self.max_channels, cond_embedding=self.cond_embedding,
                    amplitude_head=self.amplitude_head, integral_features=self.integral_features,
                    integral_apertures_kpc=self.integral_apertures_kpc)
