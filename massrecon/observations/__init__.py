"""Observations of galaxy clusters and their preparation onto the model's cluster frame.

Each observation class turns real data (Compton-y maps, X-ray images, member-galaxy catalogues,
stellar-mass images) into one of the model's input views on a `~massrecon.ClusterFrame`, in
the model's units (`massrecon.contract.VIEW_UNITS`):

* ``"sz"``: Compton-y (dimensionless), `ComptonYMap`, `HealpixComptonYMap`;
* ``"xray"``: rest-frame 0.5-2 keV emissivity per projected area (erg s-1 kpc-2), `XrayImage`;
* ``"stars"``: stellar-mass surface density (Msun kpc-2), `GalaxyMembers`, `StellarMassImage`.

Every class implements the contract `ObservationBase`: a ``view``, a ``beam``, ``beam_r200(frame)``
and ``prepare(frame)``, which returns a `PreparedView`.  `frame_from_psz2` and `frame_from_mcxc` build
frames from the Planck PSZ2 and MCXC catalogues.
"""

from .base import Observation, ObservationBase, PreparedView
from .catalogs import (
    find_clusters,
    frame_from_mcxc,
    frame_from_psz2,
    frame_from_spt,
    read_catalog,
    read_mcxc,
    read_psz2,
    read_spt,
)
from .members import (
    DepthCorrection,
    GalaxyMembers,
    StellarMassImage,
    members_to_map,
    stellar_mass_from_magnitude,
)
from .sz import PLANCK_Y_BEAM, ComptonYMap, HealpixComptonYMap
from .transfer import TransferFunction
from .xray import REST_BAND, XrayImage, band_conversion_factor, rest_frame_emissivity, temperature_from_m500

__all__ = [
    "ObservationBase",
    "Observation",
    "PreparedView",
    "ComptonYMap",
    "TransferFunction",
    "HealpixComptonYMap",
    "PLANCK_Y_BEAM",
    "XrayImage",
    "REST_BAND",
    "band_conversion_factor",
    "rest_frame_emissivity",
    "temperature_from_m500",
    "GalaxyMembers",
    "DepthCorrection",
    "StellarMassImage",
    "members_to_map",
    "stellar_mass_from_magnitude",
    "frame_from_psz2",
    "frame_from_mcxc",
    "read_psz2",
    "read_mcxc",
    "read_spt",
    "read_catalog",
    "frame_from_spt",
    "find_clusters",
]
