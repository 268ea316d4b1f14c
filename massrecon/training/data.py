"""Training data: a torch Dataset over the HDF5 layout written by `massrecon.simulate`, and a
resumable, shardable sampler.

Layout version ``"1"``: root attributes ``layout_version``, ``massrecon_version``, ``config``
(JSON of `~massrecon.simulate.SimulationConfig`), ``n_maps_done``; datasets ``/maps/<name>``
(float32, (N, npix, npix), attribute ``unit``) and ``/meta/<field>`` (``halo_id``, ``m200``,
``r200``, ``z``, ``split`` (0 train, 1 validation, 2 test), ``pixel_kpc``, ...).  Only the first
``n_maps_done`` rows are used (a partly written file is fine).

Files are opened lazily in each data-loader worker (h5py handles cannot cross processes).
"""

import json

import astropy.units as u
import h5py
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..contract import FRAME_NPIX, FRAME_SIZE_R200, TARGET_MAP, TARGET_UNIT, VIEW_MAPS, VIEWS
from ..models.transforms import VIEW_UNITS, validate_views  # unit strings, as stored in files
from .augment import AugmentConfig, make_sample

__all__ = ["SPLITS", "LAYOUT_VERSION", "ClusterMapDataset", "ResumableSampler"]

#: Split codes of ``/meta/split``.
SPLITS = {"train": 0, "validation": 1, "test": 2}

#: HDF5 layout version this module reads.
LAYOUT_VERSION = "1"


def _attr_str(val):
    """An HDF5 string attribute as `str` (h5py may give bytes)."""
    return val.decode() if isinstance(val, bytes) else str(val)


class ClusterMapDataset(Dataset):
    """Samples of one split of one or more HDF5 data sets.

    Parameters
    ----------
    paths : str or list of str
        HDF5 files (layout version 1).
    split : {"train", "validation", "test"} or None
        Rows to use (None: all).
    views : sequence of str
        Views of the model.
    npix : int
        Pixels of the model frame.
    augment : `~massrecon.training.augment.AugmentConfig` or None
        Augmentations (None: nominal samples, as for validation).
    seed : int
        Base seed of the per-sample random streams when indexed by plain integers.
    in_memory : bool
        Read the maps of the split into memory on first use (as stored, e.g. float32) instead of
        from the files at every sample.  Training reads samples at random, so from files it
        needs them in the page cache; a machine that reclaims cached pages (the development
        machine did, halving the training rate) then waits on the disk.

    Notes
    -----
    Index with an integer ``i`` or with a pair ``(i, sample_seed)`` (what `ResumableSampler`
    yields); the augmentation of a sample depends only on that seed.

    Examples
    --------
    A data set of three halos seen along one axis, on 24 pixels over 2.6 R200 (room for the
    frame jitter of the augmentation), read on a 16-pixel model frame:

    >>> import os, tempfile
    >>> import torch
    >>> from massrecon.simulate import SimulationConfig
    >>> from massrecon.simulate.dataset import write_dataset
    >>> from massrecon.training.augment import AugmentConfig
    >>> from massrecon.training.data import ClusterMapDataset
    >>> tmp = tempfile.TemporaryDirectory()
    >>> cfg = SimulationConfig(projections=1, npix=24, size_r200=2.6)
    >>> path = write_dataset(os.path.join(tmp.name, "tiny.h5"), 3, cfg, workers=1, progress=False)
    >>> ds = ClusterMapDataset(path, split=None, views=["sz", "xray"], npix=16)
    >>> len(ds), ds.halo_ids().tolist()
    (3, [0, 1, 2])
    >>> s = ds[0]
    >>> [tuple(s[k].shape) for k in ("x", "mask", "cond", "t")]
    [(2, 16, 16), (2,), (8,), (1, 16, 16)]
    >>> ds.close()

    With augmentation, a sample is a function of its seed:

    >>> aug = ClusterMapDataset(path, split=None, views=["sz", "xray"], npix=16, augment=AugmentConfig())
    >>> bool(torch.equal(aug[(1, 7)]["x"], aug[(1, 7)]["x"]))
    True
    >>> aug.close()
    >>> tmp.cleanup()
    """

    def __init__(self, paths, split="train", views=VIEWS, npix=FRAME_NPIX, augment=None, seed=0, in_memory=False):
        if isinstance(paths, (str, bytes)) or not hasattr(paths, "__iter__"):
            paths = [paths]
        self.paths = [str(p) for p in paths]
        if not self.paths:
            raise ValueError("paths must name at least one HDF5 file")
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {tuple(SPLITS)} or None, got {split!r}")
        if augment is not None and not isinstance(augment, AugmentConfig):
            raise TypeError(f"augment must be an AugmentConfig or None, got {type(augment).__name__}")
        self.split = split
        self.views = validate_views(views)
        self.npix = int(npix)
        self.augment = augment
        self.seed = int(seed)
        self.in_memory = bool(in_memory)
        self._memory = None  # {file number: ({map name: array of the split's rows}, {row: position})}
        #: `~massrecon.training.relation_frames.RelationFrameSolver` of relation frames (set by the
        #: training loop when ``augment.relation_frame_probability > 0``)
        self.relation_frames = None
        self._files = {}
        self._index = []  # (file number, row)
        self.file_info = []
        for k, path in enumerate(self.paths):
            info = self._read_info(path)
            self.file_info.append(info)
            rows = np.arange(info["n"])
            if split is not None:
                rows = rows[info["split"][: info["n"]] == SPLITS[split]]
            self._index.extend((k, int(r)) for r in rows)
        self._meta = {}
        if not self._index:
            raise ValueError(f"no maps of split {split!r} in {self.paths}")

    def _read_info(self, path):
        try:
            fh = h5py.File(path, "r")
        except (OSError, FileNotFoundError) as exc:
            raise FileNotFoundError(f"cannot open data set {path}: {exc}") from None
        with fh:
            version = _attr_str(fh.attrs.get("layout_version", ""))
            if version != LAYOUT_VERSION:
                raise ValueError(f"{path}: layout_version {version!r} is not supported (expected "
                                 f"{LAYOUT_VERSION!r})")
            cfg = json.loads(_attr_str(fh.attrs["config"]))
            needed = [VIEW_MAPS[v] for v in self.views] + [TARGET_MAP]
            missing = [m for m in needed if f"maps/{m}" not in fh]
            if missing:
                raise ValueError(f"{path} lacks maps {missing}")
            n = int(fh.attrs.get("n_maps_done", fh[f"maps/{TARGET_MAP}"].shape[0]))
            scales = {}
            for v in self.views:
                unit = u.Unit(_attr_str(fh[f"maps/{VIEW_MAPS[v]}"].attrs.get("unit", "")))
                scales[v] = float(unit.to(u.Unit(VIEW_UNITS[v])))
            tunit = u.Unit(_attr_str(fh[f"maps/{TARGET_MAP}"].attrs.get("unit", TARGET_UNIT.to_string())))
            scales["target"] = float(tunit.to(TARGET_UNIT))
            meta = {k: fh[f"meta/{k}"][:n] for k in ("r200", "z", "m200", "split", "halo_id")}
            npix_src = fh[f"maps/{TARGET_MAP}"].shape[-1]
        size = float(cfg.get("size_r200", FRAME_SIZE_R200))
        if size < FRAME_SIZE_R200 - 1e-9:
            raise ValueError(f"{path}: maps span {size} R200, the model frame needs at least {FRAME_SIZE_R200:g}")
        return dict(n=n, size_r200=size, npix=npix_src, smoothing_r200=float(cfg.get("smoothing_r200", 0.01)),
                    scales=scales, **meta)

    def __len__(self):
        return len(self._index)

    def _file(self, k):
        fh = self._files.get(k)
        if fh is None:
            fh = h5py.File(self.paths[k], "r")
            self._files[k] = fh
        return fh

    def __getstate__(self):  # do not pickle open handles into workers
        state = self.__dict__.copy()
        state["_files"] = {}
        return state

    def close(self):
        """Close the open HDF5 handles."""
        for fh in self._files.values():
            fh.close()
        self._files = {}

    def halo_ids(self):
        """Halo id of every sample (array)."""
        return np.array([self.file_info[k]["halo_id"][r] for k, r in self._index])

    def _load_memory(self):
        """The split's rows of every map the samples need, per file (read once, whole maps at a time)."""
        names = [VIEW_MAPS[v] for v in self.views] + [TARGET_MAP]
        memory = {}
        for k in range(len(self.paths)):
            rows = np.array(sorted(r for kk, r in self._index if kk == k), dtype=int)
            fh = self._file(k)
            # a whole data set and a selection in memory: faster than h5py's point selection of rows
            arrays = {n: fh[f"maps/{n}"][: rows.max() + 1][rows] for n in names} if rows.size else {}
            memory[k] = (arrays, {int(r): j for j, r in enumerate(rows)})
        self._memory = memory

    def _read(self, k, row, name):
        if not self.in_memory:
            return self._file(k)[f"maps/{name}"][row]
        if self._memory is None:
            self._load_memory()
        arrays, position = self._memory[k]
        return arrays[name][position[row]]

    def __getitem__(self, key):
        i, sample_seed = _parse_key(key, len(self))
        k, row = self._index[i]
        info = self.file_info[k]
        maps = {v: self._read(k, row, VIEW_MAPS[v]).astype(np.float64) * info["scales"][v] for v in self.views}
        target = self._read(k, row, TARGET_MAP).astype(np.float64) * info["scales"]["target"]
        return _build_sample(self, i, sample_seed, maps, target, size_r200=info["size_r200"],
                             r200_kpc=float(info["r200"][row]), z=float(info["z"][row]),
                             smoothing_r200=info["smoothing_r200"], m200=float(info["m200"][row]))


def _parse_key(key, n):
    """``i`` or ``(i, sample_seed)`` -> ``(i, sample_seed or None)``, checking the range."""
    i, sample_seed = key if isinstance(key, tuple) else (key, None)
    if not 0 <= i < n:
        raise IndexError(f"sample {i} out of range (0..{n - 1})")
    return i, sample_seed


def _build_sample(ds, i, sample_seed, maps, target, *, size_r200, r200_kpc, z, smoothing_r200, m200):
    """The sample of a data set (its views, npix, augment, seed) from maps in physical units."""
    rng = None
    if ds.augment is not None:
        rng = np.random.default_rng((ds.seed, i) if sample_seed is None else sample_seed)
    sample = make_sample(ds.views, maps, target, src_size_r200=size_r200, r200_kpc=r200_kpc, z=z, npix=ds.npix,
                         native_fwhm_r200=smoothing_r200, augment=ds.augment, rng=rng,
                         relation_frames=ds.relation_frames, m200=m200)
    sample["index"] = torch.tensor(i)
    sample["log10_m200"] = torch.tensor(np.log10(m200), dtype=torch.float32)
    return sample


class ResumableSampler(Sampler):
    """Endless, seeded, shardable sampler that yields ``(index, sample_seed)`` pairs.

    Epoch ``e`` is a permutation drawn from ``(seed, e)``, padded (like
    `torch.utils.data.DistributedSampler`) to a multiple of ``world_size`` and split rank by rank
    (``perm[rank::world_size]``).  ``start`` skips the first samples of this rank's stream, which
    is how a resumed run continues exactly where it stopped.  The per-sample seed is
    ``(seed, epoch, position in the epoch)``, independent of ranks and workers.

    Examples
    --------
    >>> from itertools import islice
    >>> from massrecon.training.data import ResumableSampler
    >>> s = ResumableSampler(5, seed=1)
    >>> first = list(islice(iter(s), 7))
    >>> list(islice(iter(ResumableSampler(5, seed=1, start=3)), 4)) == first[3:7]
    True
    """

    def __init__(self, n, seed=0, rank=0, world_size=1, start=0, shuffle=True):
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must satisfy 0 <= rank < world_size, got {rank}, {world_size}")
        self.n = int(n)
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.start = int(start)
        self.shuffle = bool(shuffle)
        self.per_rank = -(-self.n // self.world_size)

    def epoch_order(self, epoch):
        """Global order of the samples in ``epoch`` (padded to a multiple of world_size)."""
        if self.shuffle:
            perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        else:
            perm = np.arange(self.n)
        total = self.per_rank * self.world_size
        if total > self.n:
            perm = np.concatenate([perm, perm[: total - self.n]])
        return perm

    def __iter__(self):
        epoch, offset = divmod(self.start, self.per_rank)
        while True:
            perm = self.epoch_order(epoch)
            positions = np.arange(self.rank, len(perm), self.world_size)
            for pos in positions[offset:]:
                yield int(perm[pos]), (self.seed, int(epoch), int(pos))
            offset = 0
            epoch += 1

    def __len__(self):  # one epoch of this rank
        return self.per_rank
