"""`SimulationConfig`: everything that defines a mock data set, and how stored ones are read.

A configuration is stored as JSON (`SimulationConfig.to_json`) in the ``config`` attribute of every
data set (see `massrecon.simulate.dataset`) and as the ``simulate`` table of training
configurations.  Fields renamed since a configuration was stored (`RENAMED_KEYS`) are read under
their new names, so old files keep loading; fields added since (`ADDED_KEYS`) take, in a stored
configuration without them, the value that reproduces what that configuration made.

Examples
--------
>>> from massrecon.simulate.config import SimulationConfig
>>> old = '{"member_mass_limit": 1e9, "seed": 3, "log_m200_range": [14, 15], "z_range": [0.1, 0.2]}'
>>> cfg = SimulationConfig.from_json(old)
>>> cfg.seed, cfg.catalogue_mass_limit, cfg.npix
(3, 1000000000.0, 80)
>>> cfg.observable_depth_r200  # stored before the field: observables over the slab
1.0
"""

import dataclasses
import json
import math

import astropy.units as u

from ..contract import FRAME_NPIX, FRAME_SIZE_R200, MEMBER_CATALOGUE_MASS_LIMIT
from ..halo import CM_RELATIONS
from .physics_models import PHYSICS_MODELS, SUPERSEDED_PHYSICS_MODELS, get_physics
from .projection import MAP_NAMES, MODEL_EXTENT_R200

__all__ = ["SimulationConfig", "RENAMED_KEYS", "ADDED_KEYS", "upgrade_stored_config", "canonical_config_json"]

#: Fields of `SimulationConfig` renamed since configurations were first stored: old -> new name.
#: ``member_mass_limit`` was the member *catalogue* cut (1e9 Msun), easily confused with the
#: member *map* cut `~massrecon.contract.MEMBER_MAP_MASS_LIMIT` (1e10 Msun).
RENAMED_KEYS = {"member_mass_limit": "catalogue_mass_limit"}



def _slab_observables(d):
    """Before ``observable_depth_r200``, the observables were integrated over the target's slab."""
    return d.get("depth_r200", 1.0)


#: Fields of `SimulationConfig` added since configurations were first stored: name -> function of
#: the stored mapping giving the value that reproduces what a configuration stored without the
#: field made.  ``observable_depth_r200`` (the observables' whole column) was the slab's
#: ``depth_r200``.
ADDED_KEYS = {"observable_depth_r200": _slab_observables}

_TUPLE_FIELDS = ("log_m200_range", "z_range", "maps")


def upgrade_stored_config(d, *, complete=False):
    """A stored configuration mapping with renamed keys (`RENAMED_KEYS`) under their new names.

    Parameters
    ----------
    d : dict
        A configuration as stored (JSON or TOML table); not modified.
    complete : bool
        Whether ``d`` was written with every field, as `SimulationConfig.to_json` writes the
        configurations of data sets: then a field it lacks was added since (`ADDED_KEYS`) and
        takes the value that reproduces what the stored configuration made.  Otherwise (a
        hand-written table) a missing field takes its default.

    Returns
    -------
    d : dict
        A copy with the current key names.

    Raises
    ------
    ValueError
        If a key is given under both its old and its new name.

    Examples
    --------
    >>> from massrecon.simulate.config import upgrade_stored_config
    >>> upgrade_stored_config({"member_mass_limit": 1e9, "seed": 1})
    {'seed': 1, 'catalogue_mass_limit': 1000000000.0}
    >>> upgrade_stored_config({"seed": 1, "depth_r200": 1.0}, complete=True)
    {'seed': 1, 'depth_r200': 1.0, 'observable_depth_r200': 1.0}
    """
    out = dict(d)
    for old, new in RENAMED_KEYS.items():
        if old in out:
            if new in out:
                raise ValueError(f"the configuration gives both {old!r} and its new name {new!r}; keep {new!r}")
            out[new] = out.pop(old)
    if complete:
        for name, old_value in ADDED_KEYS.items():
            if name not in out:
                out[name] = old_value(out)
        if "physics" in out:
            out["physics"] = _superseded_physics_name(out)
    return out


def _superseded_physics_name(d):
    """The name of a stored configuration's physics.

    A data set simulated before the gas was recalibrated (December 2026) stored the name
    ``fiducial`` with the parameters of that time, which are now the variant ``fiducial_v1``
    (then a global factor of 2.5 on the core radii, now its ``core_scale``); its stored
    ``physics_model`` tells which.
    """
    name, stored = d.get("physics"), d.get("physics_model")
    old = SUPERSEDED_PHYSICS_MODELS.get(f"{name}_v1")
    if not isinstance(stored, dict) or name not in PHYSICS_MODELS or old is None:
        return name
    then = {k: v for k, v in stored.items() if k != "name"}
    if isinstance(then.get("core_scale"), (int, float)):
        then["core_scale"] = 2.5 * then["core_scale"]
    want = {k: v for k, v in json.loads(json.dumps(old.to_dict())).items() if k != "name"}
    same = then.keys() == want.keys() and all(
        math.isclose(then[k], v) if isinstance(v, float) else then[k] == v for k, v in want.items())
    return old.name if same else name


def canonical_config_json(text):
    """Stored configuration JSON in the form `SimulationConfig.to_json` writes today.

    Two stored configurations describe the same simulation if their canonical forms are equal,
    whichever massrecon version wrote them (e.g. before a field was renamed or added).

    Examples
    --------
    >>> from massrecon.simulate.config import SimulationConfig, canonical_config_json
    >>> cfg = SimulationConfig()
    >>> old = cfg.to_json().replace("catalogue_mass_limit", "member_mass_limit")
    >>> canonical_config_json(old) == cfg.to_json()
    True
    """
    if isinstance(text, bytes):
        text = text.decode()
    return json.dumps(upgrade_stored_config(json.loads(text), complete=True), sort_keys=True)


@dataclasses.dataclass(frozen=True)
class SimulationConfig:
    """Everything that defines a mock data set (apart from the number of halos).

    Masses are :math:`M_{200c}` in :math:`h^{-1} M_\\odot` as in de Andres et al. 2024.  The frame
    (``npix``, ``size_r200``) defaults to the model's (`~massrecon.contract.FRAME_NPIX` pixels over
    `~massrecon.contract.FRAME_SIZE_R200` R200).  The target (surface densities) is the mass in the
    slab of half-depth ``depth_r200`` R200 (the paper's :math:`\\pm R_{200}`); the observables
    (Compton-y, X-ray, member galaxies) hold the column of half-depth ``observable_depth_r200``
    R200, by default the whole mock halo (`~massrecon.simulate.MODEL_EXTENT_R200`), as
    real maps do.

    Examples
    --------
    >>> from massrecon.simulate import SimulationConfig
    >>> cfg = SimulationConfig(seed=2, npix=40)
    >>> SimulationConfig.from_json(cfg.to_json()) == cfg
    True
    """

    physics: str = "fiducial"
    seed: int = 1
    projections: int = 29
    log_m200_range: tuple = (13.5, 15.5)
    z_range: tuple = (0.01, 0.12)
    mass_sampling: str = "flat"
    npix: int = FRAME_NPIX
    size_r200: float = FRAME_SIZE_R200
    depth_r200: float = 1.0
    #: half-depth (R200) of the column of the observables; >= ``depth_r200``; configurations
    #: stored without it meant ``depth_r200`` (`ADDED_KEYS`)
    observable_depth_r200: float = MODEL_EXTENT_R200
    smoothing_r200: float = 0.01
    cm_relation: str = "diemer19"
    cm_scatter_dex: float = 0.12
    los_nodes: int = 24
    #: stellar-mass limit (Msun) of the member catalogues written with the maps (not of the
    #: ``sigma_members`` map: see `~massrecon.contract.MEMBER_MAP_MASS_LIMIT`); stored
    #: configurations call it ``member_mass_limit``
    catalogue_mass_limit: float = float(MEMBER_CATALOGUE_MASS_LIMIT.to_value(u.Msun))
    #: maps to store (a subset of `~massrecon.simulate.MAP_NAMES`); all by default
    maps: tuple = ()
    #: mean number of unrelated halos (M200 > 10^13 h^-1 Msun) along each line of sight beyond the
    #: halo; they add to the observables (y, X-ray) but not to the target (see `add_los_neighbours`)
    los_neighbours: float = 0.0

    def __post_init__(self):
        get_physics(self.physics)
        if not self.maps:
            object.__setattr__(self, "maps", tuple(MAP_NAMES))
        unknown = [m for m in self.maps if m not in MAP_NAMES]
        if unknown or "sigma_total" not in self.maps:
            raise ValueError(f"maps must be names from {MAP_NAMES} including 'sigma_total', got {self.maps}")
        lo, hi = self.log_m200_range
        if not (math.isfinite(lo) and math.isfinite(hi) and 12.0 <= lo < hi <= 16.0):
            raise ValueError(f"log_m200_range must satisfy 12 <= min < max <= 16, got {self.log_m200_range}")
        zlo, zhi = self.z_range
        if not (math.isfinite(zlo) and math.isfinite(zhi) and 0 < zlo <= zhi <= 1.0):
            raise ValueError(f"z_range must satisfy 0 < min <= max <= 1, got {self.z_range}")
        if self.mass_sampling not in ("flat", "mass_function"):
            raise ValueError(f"mass_sampling must be 'flat' or 'mass_function', got {self.mass_sampling!r}")
        if int(self.npix) != self.npix or self.npix < 8:
            raise ValueError(f"npix must be an integer >= 8, got {self.npix}")
        if int(self.projections) != self.projections or self.projections < 1:
            raise ValueError(f"projections must be a positive integer, got {self.projections}")
        for name in ("size_r200", "depth_r200", "observable_depth_r200"):
            val = getattr(self, name)
            if not (math.isfinite(val) and val > 0):
                raise ValueError(f"{name} must be finite and > 0, got {val}")
        if self.observable_depth_r200 < self.depth_r200:
            raise ValueError(f"observable_depth_r200 ({self.observable_depth_r200}) must be >= depth_r200 "
                             f"({self.depth_r200}): the observables' column holds the target's slab")
        if not (math.isfinite(self.smoothing_r200) and self.smoothing_r200 >= 0):
            raise ValueError(f"smoothing_r200 must be finite and >= 0, got {self.smoothing_r200}")
        if self.cm_relation not in CM_RELATIONS:
            raise ValueError(f"cm_relation must be one of {CM_RELATIONS}, got {self.cm_relation!r}")
        if not (math.isfinite(self.los_neighbours) and self.los_neighbours >= 0):
            raise ValueError(f"los_neighbours must be finite and >= 0, got {self.los_neighbours}")
        if self.los_nodes < 8:
            raise ValueError(f"los_nodes must be >= 8, got {self.los_nodes}")

    @property
    def physics_model(self):
        """The `~massrecon.simulate.PhysicsModel` of ``physics``."""
        return get_physics(self.physics)

    def to_json(self):
        """JSON text (sorted keys) of the fields, with the physics model's parameters spelled out."""
        d = dataclasses.asdict(self)
        d["physics_model"] = self.physics_model.to_dict()
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        """Inverse of `to_json`; also reads configurations stored under old key names
        (`RENAMED_KEYS`) or without fields added since (`ADDED_KEYS`)."""
        if isinstance(text, bytes):
            text = text.decode()
        d = upgrade_stored_config(json.loads(text), complete=True)
        d.pop("physics_model", None)
        for key in _TUPLE_FIELDS:
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)
