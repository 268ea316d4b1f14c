"""Training data simulated on demand: the samples of `~massrecon.training.ClusterMapDataset`
without an HDF5 file.

`SimulatedMapDataset` stands for the file that `massrecon.simulate.dataset.write_dataset` would
write with the same `~massrecon.simulate.SimulationConfig` and halo range: sample ``i`` is row
``i`` of that file's split (halos in order, all projections of a halo together), the maps come
from `~massrecon.simulate.dataset.simulate_halo` in the same storage units, and they are converted
to the model's units exactly as `~massrecon.training.ClusterMapDataset` converts the stored ones.
Each halo's random stream depends only on the simulation seed and its id, so a sample is the same
whichever worker or process computes it, and a resumed run sees the same data.
"""

import dataclasses
from collections import OrderedDict

import astropy.units as u
import numpy as np
from torch.utils.data import Dataset

from ..contract import FRAME_NPIX, FRAME_SIZE_R200, TARGET_MAP, TARGET_UNIT, VIEW_MAPS, VIEWS
from ..models.transforms import VIEW_UNITS, validate_views  # unit strings, as stored in files
from ..simulate import MAP_NAMES, SimulationConfig
from ..simulate.dataset import STORAGE_UNITS, simulate_halo, split_of_halo
from .augment import AugmentConfig
from .data import SPLITS, _build_sample, _parse_key

__all__ = ["SimulatedMapDataset"]

#: Projections kept in memory per process by default (training draws them at random, so more
#: would rarely be hit again; validation asks for a larger cache, see `~massrecon.training.train`).
DEFAULT_CACHE_SIZE = 16


class SimulatedMapDataset(Dataset):
    """Samples of one split of a mock data set that is simulated on demand.

    Parameters
    ----------
    n_halos : int
        Halos of the mock universe, ids ``halo_start ... halo_start + n_halos - 1`` (all splits).
    config : `~massrecon.simulate.SimulationConfig`, optional
        The simulation (default: ``SimulationConfig()``).  Its ``maps`` are ignored: only the
        views' maps and the target are made.
    split : {"train", "validation", "test"} or None
        Halos to use, chosen by `~massrecon.simulate.dataset.split_of_halo` as the HDF5 writer
        does (None: all).
    views : sequence of str
        Views of the model.
    npix : int
        Pixels of the model frame.
    augment : `~massrecon.training.augment.AugmentConfig` or None
        Augmentations (None: nominal samples, as for validation).
    seed : int
        Base seed of the per-sample random streams when indexed by plain integers (the
        simulation has its own seed, ``config.seed``).
    halo_start : int
        First halo id.
    cache_size : int
        Projections kept in memory (least recently used dropped first; 0: none).  Each process
        (data-loader worker) has its own cache.

    Notes
    -----
    Index with an integer ``i`` or with a pair ``(i, sample_seed)`` (what
    `~massrecon.training.ResumableSampler` yields), as `~massrecon.training.ClusterMapDataset`.
    Only the projection asked for is computed (`~massrecon.simulate.dataset.simulate_halo` with
    ``projection_indices``), since a shuffled sampler seldom asks for two projections of a halo in
    a row.

    Examples
    --------
    >>> from massrecon.simulate import SimulationConfig
    >>> from massrecon.training import SimulatedMapDataset
    >>> cfg = SimulationConfig(npix=40, size_r200=2.6, projections=2, log_m200_range=(14.0, 15.0))
    >>> ds = SimulatedMapDataset(10, cfg, "train", npix=32)
    >>> len(ds) == 2 * len(ds.halos)
    True
    >>> s = ds[0]
    >>> tuple(s["x"].shape), tuple(s["t"].shape), float(s["r200_px"])
    ((3, 32, 32), (1, 32, 32), 16.0)
    """

    def __init__(self, n_halos, config=None, split="train", views=VIEWS, npix=FRAME_NPIX, augment=None,
                 seed=0, *, halo_start=0, cache_size=DEFAULT_CACHE_SIZE):
        config = SimulationConfig() if config is None else config
        if not isinstance(config, SimulationConfig):
            raise TypeError(f"config must be a SimulationConfig, got {type(config).__name__}")
        for name, val, lo in (("n_halos", n_halos, 1), ("halo_start", halo_start, 0), ("cache_size", cache_size, 0)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {val!r}")
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {tuple(SPLITS)} or None, got {split!r}")
        if augment is not None and not isinstance(augment, AugmentConfig):
            raise TypeError(f"augment must be an AugmentConfig or None, got {type(augment).__name__}")
        if config.size_r200 < FRAME_SIZE_R200 - 1e-9:
            # the same refusal as ClusterMapDataset's for a stored file
            raise ValueError(f"maps span {config.size_r200} R200 (size_r200), the model frame needs at least "
                             f"{FRAME_SIZE_R200:g}")
        self.views = validate_views(views)
        needed = {VIEW_MAPS[v] for v in self.views} | {TARGET_MAP}
        # The other maps cost memory and nothing else: each map of a projection is independent of
        # which others are kept, so the samples equal those of a file with all maps.
        self.config = dataclasses.replace(config, maps=tuple(m for m in MAP_NAMES if m in needed))
        self.n_halos = int(n_halos)
        self.halo_start = int(halo_start)
        self.split = split
        self.npix = int(npix)
        self.augment = augment
        self.relation_frames = None  # relation frames need a data set to fit relations on (not on the fly)
        self.seed = int(seed)
        self.cache_size = int(cache_size)
        ids = np.arange(self.halo_start, self.halo_start + self.n_halos)
        if split is not None:
            code = SPLITS[split]
            ids = ids[[split_of_halo(h, self.config.seed) == code for h in ids]]
        #: Halo ids of the split, in order.
        self.halos = ids
        if not len(self.halos):
            raise ValueError(f"no halos of split {split!r} among the {self.n_halos} halos from id {self.halo_start}")
        # Round trip through the unit string of the file's ``unit`` attribute, so that the factors
        # are bit for bit those ClusterMapDataset reads back.
        self.scales = {v: float(u.Unit(STORAGE_UNITS[VIEW_MAPS[v]].to_string()).to(u.Unit(VIEW_UNITS[v])))
                       for v in self.views}
        self.scales["target"] = float(u.Unit(STORAGE_UNITS[TARGET_MAP].to_string()).to(TARGET_UNIT))
        self._cache = OrderedDict()

    def __len__(self):
        return len(self.halos) * self.config.projections

    def __getstate__(self):  # workers start with an empty cache
        state = self.__dict__.copy()
        state["_cache"] = OrderedDict()
        return state

    def close(self):
        """Empty the cache."""
        self._cache = OrderedDict()

    def halo_ids(self):
        """Halo id of every sample (array)."""
        return np.repeat(self.halos, self.config.projections)

    def projection(self, i):
        """Maps (float32, storage units) and metadata of sample ``i``, simulated or cached.

        Returns
        -------
        maps : dict of `~numpy.ndarray`
            ``(npix, npix)`` per map of the views and the target.
        meta : dict
            ``halo_id``, ``projection``, ``m200``, ``r200``, ``z`` (as the HDF5 ``/meta``).
        """
        halo_id = int(self.halos[i // self.config.projections])
        p = i % self.config.projections
        key = (halo_id, p)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        maps, meta, _ = simulate_halo(halo_id, self.config, projection_indices=[p])
        out = ({k: v[0] for k, v in maps.items()},
               {k: meta[k][0] for k in ("halo_id", "projection", "m200", "r200", "z")})
        if self.cache_size:
            self._cache[key] = out
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def __getitem__(self, key):
        i, sample_seed = _parse_key(key, len(self))
        stored, meta = self.projection(i)
        # the arithmetic of ClusterMapDataset.__getitem__ on the stored float32 maps
        maps = {v: stored[VIEW_MAPS[v]].astype(np.float64) * self.scales[v] for v in self.views}
        target = stored[TARGET_MAP].astype(np.float64) * self.scales["target"]
        return _build_sample(self, i, sample_seed, maps, target, size_r200=self.config.size_r200,
                             r200_kpc=float(meta["r200"]), z=float(meta["z"]),
                             smoothing_r200=self.config.smoothing_r200, m200=float(meta["m200"]))
