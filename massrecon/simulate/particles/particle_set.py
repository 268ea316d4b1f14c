"""`ParticleSet`: dark-matter, gas or star particles in physical units.

Positions and masses, and for gas the density, temperature or internal energy, electron
abundance, metallicity and smoothing length, converted to kpc, Msun, Msun kpc^-3, K and
km^2 s^-2 on construction.  Missing smoothing lengths and densities are estimated from the
nearest neighbours (`massrecon.simulate.particles.smoothing`).
"""

import dataclasses

import astropy.constants as const
import astropy.units as u
import numpy as np

from ..emission import MU
from ._checks import as_dimensionless, as_quantity
from .smoothing import N_NEIGHBOURS, neighbour_estimate

__all__ = ["HYDROGEN_MASS_FRACTION", "KINDS", "ParticleSet", "temperature_from_internal_energy"]

#: Hydrogen mass fraction X used with electron abundances (n_e / n_H).
HYDROGEN_MASS_FRACTION = 0.76

#: Particle kinds.
KINDS = ("dm", "gas", "stars")

#: Units in which densities and specific internal energies are held.
DENSITY_UNIT = u.Msun / u.kpc**3
ENERGY_UNIT = u.km**2 / u.s**2

_GAMMA = 5.0 / 3.0


@dataclasses.dataclass(eq=False)
class ParticleSet:
    """Particles of one kind: dark matter, gas or stars.

    All quantities are physical (no factors of h or of the scale factor), one value per
    particle; a scalar ``masses`` (or electron abundance, metallicity) is broadcast.  Values
    are converted to kpc, Msun, Msun kpc^-3, K and km^2 s^-2 on construction.

    Parameters
    ----------
    positions : `~astropy.units.Quantity`, shape (N, 3)
        Positions (length).
    masses : `~astropy.units.Quantity`, shape (N,) or scalar
        Particle masses (mass), > 0.
    kind : {"dm", "gas", "stars"}
        Particle kind.  Gas needs ``temperature`` or ``internal_energy``.
    density : `~astropy.units.Quantity`, optional
        Gas mass density (mass / length^3).  When absent it is estimated by an SPH sum over
        the `N_NEIGHBOURS` nearest neighbours (see `smoothing_lengths`).
    temperature : `~astropy.units.Quantity`, optional
        Gas temperature, in K or as an energy :math:`kT` (e.g. keV).
    internal_energy : `~astropy.units.Quantity`, optional
        Specific internal energy :math:`u` (e.g. km^2 s^-2), used when ``temperature`` is not
        given: :math:`T = (\\gamma - 1)\\mu m_p u / k_B`, :math:`\\gamma = 5/3`, with
        :math:`\\mu = 4 / (1 + 3X + 4 X x_e)` (X = `HYDROGEN_MASS_FRACTION`) when the electron
        abundance :math:`x_e` is given, else :math:`\\mu` = `~massrecon.simulate.emission.MU`
        (0.59, fully ionised).
    electron_abundance : array_like, optional
        :math:`x_e = n_e / n_H` (GADGET's ``ElectronAbundance``), >= 0.
    metallicity : array_like, optional
        Metal mass fraction, >= 0 (carried along; the analytic cooling functions assume
        Z = 0.3 Zsun).
    smoothing_length : `~astropy.units.Quantity`, optional
        SPH smoothing length :math:`H`, the kernel's radius of compact support (GADGET
        convention).  See `smoothing_lengths` for the default.

    Raises
    ------
    ValueError
        For a missing required field, a wrong shape or length, non-finite or out-of-range
        values, or an unknown ``kind``; the message names the field.
    astropy.units.UnitsError
        For a field without units or with units of the wrong physical type.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from massrecon.simulate.particles import ParticleSet
    >>> gas = ParticleSet(np.zeros((2, 3)) * u.kpc, 1e8 * u.Msun, kind="gas",
    ...                   density=[1e5, 2e5] * u.Msun / u.kpc**3, temperature=5 * u.keV)
    >>> len(gas), gas.temperature.to(u.K).round(-5)
    (2, <Quantity [58000000., 58000000.] K>)
    """

    positions: u.Quantity
    masses: u.Quantity
    kind: str = "dm"
    density: u.Quantity = None
    temperature: u.Quantity = None
    internal_energy: u.Quantity = None
    electron_abundance: np.ndarray = None
    metallicity: np.ndarray = None
    smoothing_length: u.Quantity = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.positions is None:
            raise ValueError("positions is required")
        if self.masses is None:
            raise ValueError("masses is required")
        pos = as_quantity(self.positions, "positions", u.kpc, positive=False)
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise ValueError(f"positions must have shape (N, 3), got {pos.shape}")
        n = pos.shape[0]
        self.positions = pos
        self.masses = as_quantity(self.masses, "masses", u.Msun, n=n)
        if self.density is not None:
            self.density = as_quantity(self.density, "density", DENSITY_UNIT, n=n)
        if self.smoothing_length is not None:
            self.smoothing_length = as_quantity(self.smoothing_length, "smoothing_length", u.kpc, n=n)
        if self.electron_abundance is not None:
            self.electron_abundance = as_dimensionless(self.electron_abundance, "electron_abundance", n)
        if self.metallicity is not None:
            self.metallicity = as_dimensionless(self.metallicity, "metallicity", n)
        if self.internal_energy is not None:
            self.internal_energy = as_quantity(self.internal_energy, "internal_energy", ENERGY_UNIT, n=n)
        if self.temperature is not None:
            self.temperature = as_quantity(self.temperature, "temperature", u.K, n=n,
                                            equivalencies=u.temperature_energy())
        elif self.internal_energy is not None:
            self.temperature = temperature_from_internal_energy(self.internal_energy, self.electron_abundance)
        if self.kind == "gas" and self.temperature is None:
            raise ValueError("gas particles need 'temperature' or 'internal_energy' (both are missing)")

    def __len__(self):
        return self.positions.shape[0]

    def smoothing_lengths(self, n_ngb=N_NEIGHBOURS):
        """Smoothing lengths :math:`H` (kpc): the given ones, else estimated.

        With a density, :math:`H = [N_{ngb}\\, m / (\\tfrac{4}{3}\\pi\\rho)]^{1/3}` (the
        sphere that holds ``n_ngb`` particle masses, GADGET's definition); without one, the
        distance to the ``n_ngb``-th nearest particle (itself included), from a
        `scipy.spatial.cKDTree`.
        """
        if self.smoothing_length is not None:
            return self.smoothing_length
        m = self.masses.to_value(u.Msun)
        if self.density is not None:
            rho = self.density.to_value(DENSITY_UNIT)
            return (n_ngb * m / (4.0 / 3.0 * np.pi * rho)) ** (1.0 / 3.0) * u.kpc
        return neighbour_estimate(self.positions.to_value(u.kpc), m, n_ngb).smoothing_length * u.kpc

    def densities(self, n_ngb=N_NEIGHBOURS):
        """Mass densities (Msun kpc^-3): the given ones, else the SPH estimate
        :math:`\\rho_i = \\sum_j m_j W(r_{ij}, H_i)` over the ``n_ngb`` nearest neighbours."""
        if self.density is not None:
            return self.density
        est = neighbour_estimate(self.positions.to_value(u.kpc), self.masses.to_value(u.Msun), n_ngb)
        return est.density * DENSITY_UNIT


def temperature_from_internal_energy(internal_energy, electron_abundance=None):
    """Temperature from the specific internal energy, :math:`T = (\\gamma-1)\\mu m_p u / k_B`.

    Parameters
    ----------
    internal_energy : `~astropy.units.Quantity`
        Specific internal energy (e.g. km^2 s^-2).
    electron_abundance : array_like, optional
        :math:`x_e = n_e/n_H`; gives :math:`\\mu = 4/(1 + 3X + 4X x_e)`, else :math:`\\mu = 0.59`.

    Returns
    -------
    temperature : `~astropy.units.Quantity`
        In K.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.simulate.particles import temperature_from_internal_energy
    >>> temperature_from_internal_energy(1e5 * u.km**2 / u.s**2).round(-3)
    <Quantity 4765000. K>
    """
    if electron_abundance is None:
        mu = MU
    else:
        x = HYDROGEN_MASS_FRACTION
        mu = 4.0 / (1.0 + 3.0 * x + 4.0 * x * np.asarray(electron_abundance, dtype=float))
    return ((_GAMMA - 1.0) * mu * const.m_p * internal_energy / const.k_B).to(u.K)
