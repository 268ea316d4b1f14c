"""Maps from simulation particles.

The analytic mock (`~massrecon.simulate.project_halo`) has a particle counterpart here: a
`ParticleSet` holds dark-matter, gas or star particles (positions and masses, and for gas the
density, temperature or internal energy, electron abundance, metallicity and smoothing
length), `project_particles` builds the same maps as the analytic projection from them, and
`read_gadget_hdf5` reads GADGET-3 / GADGET-X / GIZMO-style HDF5 snapshots (The Three Hundred
and the like).

One module per idea:

* ``kernel``: the SPH kernel, the cubic spline M4 (Monaghan & Lattanzio 1985) in the GADGET
  convention, where the smoothing length :math:`H` is the radius of compact support,
  :math:`W(r, H) = \\frac{8}{\\pi H^3} w(r/H)` with :math:`w(q) = 1 - 6q^2 + 6q^3` for
  :math:`q \\le 1/2`, :math:`2(1-q)^3` for :math:`1/2 < q \\le 1`, 0 beyond (in the notation of
  Price 2012, JCP 231, 759, :math:`H = 2h`), and its line-of-sight integral, tabulated once;
* ``particle_set``: `ParticleSet` and `temperature_from_internal_energy`;
* ``smoothing``: smoothing lengths and densities from the `N_NEIGHBOURS` nearest neighbours;
* ``deposit``: the projected kernel integrated over each pixel by sub-pixel sampling;
* ``projection``: `project_particles`;
* ``gadget``: `read_gadget_hdf5`.

Conventions: positions are physical (not comoving) and carry length units; maps are in the frame
of `~massrecon.simulate.project_halo`: ``npix`` pixels over ``size_r200`` R200, pixel ``j``
centred at ``(j - (npix - 1) / 2)`` pixel widths from the centre, arrays indexed ``[iy, ix]``.
The viewing basis for a line of sight :math:`\\hat e_z` is built as in
`~massrecon.simulate.projection_bases`: :math:`\\hat e_x = \\hat r \\times \\hat e_z / |\\cdot|`,
:math:`\\hat e_y = \\hat e_z \\times \\hat e_x`, with :math:`\\hat r` the z axis unless
:math:`|e_{z,z}| \\ge 0.9`, then the x axis.
"""

from .gadget import read_gadget_hdf5
from .kernel import sph_kernel, sph_kernel_projected
from .particle_set import HYDROGEN_MASS_FRACTION, ParticleSet, temperature_from_internal_energy
from .projection import project_particles
from .smoothing import N_NEIGHBOURS

__all__ = [
    "HYDROGEN_MASS_FRACTION",
    "N_NEIGHBOURS",
    "ParticleSet",
    "project_particles",
    "read_gadget_hdf5",
    "sph_kernel",
    "sph_kernel_projected",
    "temperature_from_internal_energy",
]
