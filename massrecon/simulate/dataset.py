"""HDF5 datasets of mock maps: a versioned, appendable, resumable layout.

Layout version ``"1"`` (all arrays indexed by map along the first axis, ``N`` maps in all):

==========================  ===================================================================
path                        content
==========================  ===================================================================
``/`` attrs                 ``layout_version`` ("1"), ``massrecon_version``, ``config`` (JSON of
                            `~massrecon.simulate.SimulationConfig`; files written before
                            ``catalogue_mass_limit`` was renamed call it
                            ``member_mass_limit``, and are read alike; files written before
                            ``observable_depth_r200`` made the observables over the slab and
                            are read so), ``n_halos`` (planned),
                            ``halo_start`` (first halo id), ``n_halos_done`` (complete halos),
                            ``n_maps_done``, ``split_fractions``
``/maps/<name>``            float32 ``(N, npix, npix)``, one per name in ``config.maps`` (by
                            default all of `~massrecon.simulate.MAP_NAMES`); chunks of one map,
                            gzip + shuffle;
                            attr ``unit`` (astropy unit string; X-ray maps are stored in units of
                            1e30 erg s^-1 kpc^-2 to stay inside float32)
``/meta/<field>``           per-map 1D arrays: ``halo_id``, ``projection``, ``m200``, ``r200``,
                            ``m500``, ``r500`` (Msun, kpc), ``z``, ``c200``, ``q``, ``s``,
                            ``euler`` (N, 3: ZYZ angles of the halo orientation, rad),
                            ``relaxedness``, ``chi``, ``cool_core``, ``merger``, ``physics``
                            (code), ``seed``, ``split`` (0 train, 1 validation, 2 test: by halo,
                            never by projection), ``pixel_kpc``, ``member_start``,
                            ``member_count``
``/members/<field>``        member galaxies of all maps, concatenated: ``x``, ``y`` (kpc, image
                            axes), ``mstar`` (Msun), ``v_los`` (km/s); map ``i`` owns rows
                            ``member_start[i]:member_start[i] + member_count[i]``
==========================  ===================================================================

Halos are written in order, all projections of a halo at once, and ``n_halos_done`` is updated
only after the halo's data are flushed: a killed run resumes from the last complete halo (any
partial rows beyond it are overwritten), and since each halo's random stream depends only on the
seed and its id, the resumed file is identical to an uninterrupted run.
"""

import json
import os
import signal
from concurrent.futures import ProcessPoolExecutor

import astropy.units as u
import h5py
import numpy as np
from astropy.cosmology import Planck18

from .. import __version__
from ..logger import log
from .config import SimulationConfig, canonical_config_json
from .physics_models import PHYSICS_MODELS, SUPERSEDED_PHYSICS_MODELS
from .population import projection_bases, sample_halo
from .projection import MAP_UNITS, HaloModel, add_los_neighbours, project_halo

__all__ = [
    "LAYOUT_VERSION",
    "STORAGE_UNITS",
    "simulate_halo",
    "write_dataset",
    "merge_datasets",
    "open_dataset",
    "DatasetVersionError",
    "split_of_halo",
]

#: Version of the HDF5 layout written by this module.
LAYOUT_VERSION = "1"

#: Units in which maps are stored (float32).
STORAGE_UNITS = {k: v for k, v in MAP_UNITS.items()}
STORAGE_UNITS["xray_soft"] = u.Unit(1e30 * u.erg / u.s / u.kpc**2)
STORAGE_UNITS["xray_bol"] = u.Unit(1e30 * u.erg / u.s / u.kpc**2)

_META_FLOAT = ("m200", "r200", "m500", "r500", "z", "c200", "q", "s", "relaxedness", "chi", "pixel_kpc")
_META_INT = ("halo_id", "projection", "cool_core", "merger", "physics", "seed", "split",
             "member_start", "member_count")
_MEMBER_FIELDS = ("x", "y", "mstar", "v_los")
# the superseded variants after the current ones, so the codes of the current ones keep their values
_PHYSICS_CODES = {name: i for i, name in enumerate(sorted(PHYSICS_MODELS) + sorted(SUPERSEDED_PHYSICS_MODELS))}
_SPLIT = (0.8, 0.1, 0.1)


class DatasetVersionError(ValueError):
    """A dataset was written with another layout version than this massrecon reads."""


def split_of_halo(halo_id, seed, fractions=_SPLIT):
    """Train (0), validation (1) or test (2) split of a halo: a hash of (seed, halo id).

    The split depends on the halo only, so all projections of a halo share it.
    """
    u_ = np.random.default_rng(np.random.SeedSequence([int(seed), int(halo_id), 7919])).uniform()
    return int(np.searchsorted(np.cumsum(fractions), u_, side="right"))


def _euler_zyz(rot):
    beta = np.arccos(np.clip(rot[2, 2], -1, 1))
    alpha = np.arctan2(rot[1, 2], rot[0, 2])
    gamma = np.arctan2(rot[2, 1], -rot[2, 0])
    return np.array([alpha, beta, gamma])


def _neighbour_column(config):
    """Half-depth (own R200) of the neighbours' columns: their whole model, except for
    configurations whose observables stop at the slab (those stored before
    ``observable_depth_r200``), which projected neighbours over 3 R200."""
    return None if config.observable_depth_r200 > config.depth_r200 else 3.0


def simulate_halo(halo_id, config, cosmology=None, projection_indices=None):
    """All projections of one halo: maps (float32, storage units), metadata rows and members.

    Parameters
    ----------
    halo_id : int
    config : `~massrecon.simulate.SimulationConfig`
    cosmology : `~astropy.cosmology.FLRW`, optional
        Default: Planck18.
    projection_indices : sequence of int, optional
        Only these projections (numbers ``0 ... config.projections - 1``), in this order; each is
        identical to the same projection of a full call.  Default: all.

    Returns
    -------
    maps : dict of `~numpy.ndarray`
        ``(projections, npix, npix)`` float32 per name in ``config.maps``, in `STORAGE_UNITS`.
    meta : dict of `~numpy.ndarray`
        Per-projection metadata (see the module docstring).
    members : list of dict
        Member catalogue of each projection.
    """
    cosmology = Planck18 if cosmology is None else cosmology
    halo = sample_halo(halo_id, config, cosmology)
    model = HaloModel(halo, config.physics, cosmology)
    bases = projection_bases(config.projections)
    if projection_indices is None:
        which = np.arange(config.projections)
    else:
        which = np.asarray(projection_indices, dtype=np.int64).reshape(-1)
        if which.size and not (0 <= which.min() and which.max() < config.projections):
            raise ValueError(f"projection_indices must lie in 0..{config.projections - 1}, got "
                             f"{list(projection_indices)}")
    maps = {k: np.empty((len(which), config.npix, config.npix), np.float32) for k in config.maps}
    members = []
    scale = {k: float(MAP_UNITS[k].to(STORAGE_UNITS[k])) for k in config.maps}
    for j, p in enumerate(which.tolist()):
        m, mem = project_halo(model, bases[p], npix=config.npix, size_r200=config.size_r200,
                              depth_r200=config.depth_r200, observable_depth_r200=config.observable_depth_r200,
                              smoothing_r200=config.smoothing_r200, los_nodes=config.los_nodes,
                              catalogue_mass_limit=config.catalogue_mass_limit)
        if config.los_neighbours > 0:
            rng = np.random.default_rng(np.random.SeedSequence([int(config.seed), int(halo_id), p, 31]))
            add_los_neighbours(m, halo, config.los_neighbours, rng, npix=config.npix,
                               size_r200=config.size_r200, physics=config.physics, cosmology=cosmology,
                               column_r200=_neighbour_column(config))
        for k in config.maps:
            maps[k][j] = m[k] * scale[k]
        members.append(mem)
    n = len(which)
    meta = {
        "halo_id": np.full(n, halo.halo_id), "projection": which,
        "m200": np.full(n, halo.m200), "r200": np.full(n, halo.r200), "m500": np.full(n, halo.m500),
        "r500": np.full(n, halo.r500), "z": np.full(n, halo.z), "c200": np.full(n, halo.c200),
        "q": np.full(n, halo.q), "s": np.full(n, halo.s), "relaxedness": np.full(n, halo.relaxedness),
        "chi": np.full(n, halo.dynamical_chi), "cool_core": np.full(n, int(halo.cool_core)),
        "merger": np.full(n, int(halo.merger)),
        "physics": np.full(n, _PHYSICS_CODES[config.physics_model.name]),
        "seed": np.full(n, config.seed), "split": np.full(n, split_of_halo(halo.halo_id, config.seed)),
        "pixel_kpc": np.full(n, config.size_r200 * halo.r200 / config.npix),
        "euler": np.tile(_euler_zyz(halo.rotation), (n, 1)),
    }
    return maps, meta, members


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _simulate_task(args):
    halo_id, config_json = args
    return halo_id, simulate_halo(halo_id, SimulationConfig.from_json(config_json))


def _create(f, config, n_halos, halo_start):
    f.attrs["layout_version"] = LAYOUT_VERSION
    f.attrs["massrecon_version"] = __version__
    f.attrs["config"] = config.to_json()
    f.attrs["n_halos"] = int(n_halos)
    f.attrs["halo_start"] = int(halo_start)
    f.attrs["n_halos_done"] = 0
    f.attrs["n_maps_done"] = 0
    f.attrs["split_fractions"] = np.array(_SPLIT)
    f.attrs["physics_codes"] = json.dumps(_PHYSICS_CODES)
    npix = config.npix
    g = f.create_group("maps")
    for k in config.maps:
        d = g.create_dataset(k, shape=(0, npix, npix), maxshape=(None, npix, npix), dtype="f4",
                             chunks=(1, npix, npix), compression="gzip", compression_opts=4, shuffle=True)
        d.attrs["unit"] = STORAGE_UNITS[k].to_string()
    g = f.create_group("meta")
    for k in _META_FLOAT:
        g.create_dataset(k, shape=(0,), maxshape=(None,), dtype="f8", chunks=(4096,))
    for k in _META_INT:
        g.create_dataset(k, shape=(0,), maxshape=(None,), dtype="i8", chunks=(4096,))
    g.create_dataset("euler", shape=(0, 3), maxshape=(None, 3), dtype="f8", chunks=(4096, 3))
    g = f.create_group("members")
    for k in _MEMBER_FIELDS:
        g.create_dataset(k, shape=(0,), maxshape=(None,), dtype="f8", chunks=(16384,))


def _check_version(f, path):
    version = f.attrs.get("layout_version", None)
    if version is None:
        raise DatasetVersionError(f"{path} is not a massrecon dataset (no layout_version attribute)")
    if isinstance(version, bytes):
        version = version.decode()
    if str(version) != LAYOUT_VERSION:
        raise DatasetVersionError(
            f"{path} has dataset layout version {version} (written by massrecon "
            f"{f.attrs.get('massrecon_version', '?')}); this massrecon ({__version__}) reads layout "
            f"version {LAYOUT_VERSION}"
        )


def _truncate(f, n_maps):
    for k in f["maps"]:
        f["maps"][k].resize(n_maps, axis=0)
    for k in f["meta"]:
        f["meta"][k].resize(n_maps, axis=0)
    n_mem = 0
    if n_maps:
        n_mem = int(f["meta"]["member_start"][n_maps - 1] + f["meta"]["member_count"][n_maps - 1])
    for k in _MEMBER_FIELDS:
        f["members"][k].resize(n_mem, axis=0)


def _append(f, maps, meta, members):
    n0 = int(f.attrs["n_maps_done"])
    n = next(iter(maps.values())).shape[0]
    for k in maps:
        d = f["maps"][k]
        d.resize(n0 + n, axis=0)
        d[n0:n0 + n] = maps[k]
    m0 = f["members"]["x"].shape[0]
    counts = np.array([len(m["x"]) for m in members], dtype=np.int64)
    starts = m0 + np.concatenate([[0], np.cumsum(counts)[:-1]])
    meta = dict(meta, member_start=starts, member_count=counts)
    for k, v in meta.items():
        d = f["meta"][k]
        d.resize(n0 + n, axis=0)
        d[n0:n0 + n] = v
    total = int(counts.sum())
    for k in _MEMBER_FIELDS:
        d = f["members"][k]
        d.resize(m0 + total, axis=0)
        if total:
            d[m0:m0 + total] = np.concatenate([m[k] for m in members])
    f.attrs["n_maps_done"] = n0 + n


def write_dataset(path, n_halos, config=None, *, halo_start=0, overwrite=False, workers=None,
                  progress=True):
    """Simulate ``n_halos`` halos and write (or resume) a dataset.

    Parameters
    ----------
    path : str or path-like
        Output HDF5 file.
    n_halos : int
        Number of halos, with ids ``halo_start ... halo_start + n_halos - 1``.
    config : `~massrecon.simulate.SimulationConfig`, optional
    halo_start : int
        First halo id (used by shards).
    overwrite : bool
        Replace an existing file.  Without it an existing file is resumed if it was written with
        the same configuration and halo range, and refused otherwise: nothing is overwritten
        unless asked.
    workers : int, optional
        Worker processes (default: all cores).
    progress : bool
        Show a progress bar.

    Returns
    -------
    path : str

    Examples
    --------
    >>> import tempfile, os, h5py
    >>> from massrecon.simulate import SimulationConfig
    >>> from massrecon.simulate.dataset import write_dataset
    >>> cfg = SimulationConfig(projections=2, npix=16)
    >>> out = os.path.join(tempfile.mkdtemp(), "tiny.h5")
    >>> _ = write_dataset(out, 2, cfg, workers=1, progress=False)
    >>> with h5py.File(out) as f:
    ...     print(f["maps/sigma_total"].shape, f.attrs["n_halos_done"])
    (4, 16, 16) 2
    """
    config = SimulationConfig() if config is None else config
    if isinstance(n_halos, bool) or int(n_halos) != n_halos or n_halos < 1:
        raise ValueError(f"n_halos must be a positive integer, got {n_halos!r}")
    path = os.fspath(path)
    mode = "a"
    if os.path.exists(path):
        if overwrite:
            os.remove(path)
        else:
            with h5py.File(path, "r") as f:
                _check_version(f, path)
                # canonical form: files whose config uses old key names (RENAMED_KEYS) resume too
                same = (canonical_config_json(f.attrs["config"]) == config.to_json()
                        and int(f.attrs["n_halos"]) == n_halos
                        and int(f.attrs["halo_start"]) == halo_start)
            if not same:
                raise FileExistsError(
                    f"{path} exists and was written with another configuration or halo range; "
                    "pass overwrite=True (--overwrite) to replace it, or choose another path"
                )
    with h5py.File(path, mode) as f:
        if "layout_version" not in f.attrs:
            _create(f, config, n_halos, halo_start)
        done = int(f.attrs["n_halos_done"])
        _truncate(f, done * config.projections)
        f.attrs["n_maps_done"] = done * config.projections
        todo = list(range(halo_start + done, halo_start + n_halos))
        if done:
            log.info(f"resuming {path}: {done} of {n_halos} halos already done")
        if not todo:
            return path
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_halos, initial=done, unit="halo", desc="simulate")
        workers = os.cpu_count() if workers is None else int(workers)
        cj = config.to_json()
        try:
            if workers <= 1:
                results = (_simulate_task((i, cj)) for i in todo)
                pool = None
            else:
                # Ctrl-C reaches the main process only, which stops cleanly (the file stays resumable)
                pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint)
                results = pool.map(_simulate_task, [(i, cj) for i in todo], chunksize=1)
            for k, (_hid, (maps, meta, members)) in enumerate(results):
                _append(f, maps, meta, members)
                f.attrs["n_halos_done"] = done + k + 1
                f.flush()
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            if workers > 1 and pool is not None:
                pool.shutdown(cancel_futures=True)
    return path


def merge_datasets(paths, out, *, overwrite=False):
    """Join shard files (written with ``halo_start`` ranges) into one dataset.

    Shards must share the configuration and cover consecutive halo ranges; the result is
    identical in content to a single run over the whole range.
    """
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("paths must name at least one shard")
    out = os.fspath(out)
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    infos = []
    for p in paths:
        with h5py.File(p, "r") as f:
            _check_version(f, p)
            if int(f.attrs["n_halos_done"]) != int(f.attrs["n_halos"]):
                raise ValueError(f"shard {p} is incomplete ({f.attrs['n_halos_done']} of "
                                 f"{f.attrs['n_halos']} halos): finish it first (run it again)")
            infos.append((int(f.attrs["halo_start"]), int(f.attrs["n_halos"]),
                          canonical_config_json(f.attrs["config"]), p))
    infos.sort()
    if len({i[2] for i in infos}) != 1:
        raise ValueError("shards were written with different configurations")
    for a, b in zip(infos[:-1], infos[1:]):
        if a[0] + a[1] != b[0]:
            raise ValueError(f"shards do not cover consecutive halo ranges: {a[3]} ends at halo "
                             f"{a[0] + a[1]}, {b[3]} starts at {b[0]}")
    config = SimulationConfig.from_json(infos[0][2])
    if os.path.exists(out):
        os.remove(out)
    n_total = sum(i[1] for i in infos)
    with h5py.File(out, "w") as fo:
        _create(fo, config, n_total, infos[0][0])
        for _, n, _, p in infos:
            with h5py.File(p, "r") as fi:
                step = 64
                nmaps = int(fi.attrs["n_maps_done"])
                for s in range(0, nmaps, step):
                    e = min(s + step, nmaps)
                    maps = {k: fi["maps"][k][s:e] for k in config.maps}
                    meta = {k: fi["meta"][k][s:e] for k in fi["meta"]
                            if k not in ("member_start", "member_count")}
                    starts = fi["meta"]["member_start"][s:e]
                    counts = fi["meta"]["member_count"][s:e]
                    members = [{k: fi["members"][k][st:st + c] for k in _MEMBER_FIELDS}
                               for st, c in zip(starts, counts)]
                    _append(fo, maps, meta, members)
            fo.attrs["n_halos_done"] = int(fo.attrs["n_halos_done"]) + n
    return out


class MockDataset:
    """Read access to a dataset file (see the module docstring for the layout).

    Use as a context manager or call `close`.  ``maps[name]`` and ``meta[field]`` are h5py
    datasets (read lazily); `map` returns one map as a Quantity in physical units.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._f = h5py.File(self.path, "r")
        try:
            _check_version(self._f, self.path)
        except Exception:
            self._f.close()
            raise
        self.config = SimulationConfig.from_json(self._f.attrs["config"])
        self.maps = self._f["maps"]
        self.meta = self._f["meta"]
        self.members_group = self._f["members"]

    def __len__(self):
        return int(self._f.attrs["n_maps_done"])

    def map(self, name, index):
        """Map ``name`` number ``index`` as a `~astropy.units.Quantity` in `MAP_UNITS`."""
        if name not in self.maps:
            raise ValueError(f"name must be one of the maps in this dataset {tuple(self.maps)}, got {name!r}")
        data = self.maps[name][index].astype(np.float64)
        return (data * u.Unit(self.maps[name].attrs["unit"])).to(MAP_UNITS[name])

    def members(self, index):
        """Member catalogue of map ``index`` as a dict of arrays (x, y kpc; mstar Msun; v_los km/s)."""
        s = int(self.meta["member_start"][index])
        c = int(self.meta["member_count"][index])
        return {k: self.members_group[k][s:s + c] for k in _MEMBER_FIELDS}

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_dataset(path):
    """Open a dataset for reading; a file of another layout version raises `DatasetVersionError`."""
    return MockDataset(path)
