"""Validation of the bundled model on real clusters, against catalogue masses.

Every real cluster of ``shared/data`` (eFEDS, Abell 907 with XMM-Newton, ZwCl 2341.1+0000 with
Chandra, MACS J0025.4-1222 with ACT and Bolocam) is loaded here the way a user would load it,
with the public API only (`massrecon.observations`, `massrecon.physics`), and its
:math:`M_{500c}` is predicted with `~massrecon.MassReconstructor.pretrained` for each usable view
set: on the catalogue frame (``r200_error=0.3``), from the weights' scaling relations alone
(`~massrecon.MassReconstructor.relation_mass`), and self-consistently from starts at 0.5 and 2
times the catalogue mass (the default ``"relation"`` method: the map on the relation frame).
The result is compared with the PSZ2 and MCXC masses, corrected for their hydrostatic bias.
``docs/validation.rst`` explains each assumption.

Usage::

    python -m massrecon.validation.real_clusters --out docs/validation_table.rst

writes the RST table (included by ``docs/validation.rst``) and an ECSV table next to it.  The
data directory defaults to ``shared/data`` next to the repository (``--data`` to change it).
"""

import argparse
import dataclasses
import re
import sys
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS, FITSFixedWarning
from scipy import optimize

import massrecon
from massrecon import ClusterFrame
from massrecon.observations import (
    ComptonYMap,
    TransferFunction,
    XrayImage,
    find_clusters,
    frame_from_mcxc,
    frame_from_psz2,
    read_mcxc,
    read_psz2,
)
from massrecon.physics import energy_conversion_factor, photon_spectrum, read_arf, transmission, y_from_map

__all__ = [
    "DATA_DIR",
    "HYDROSTATIC_BIAS",
    "AGREEMENT_SIGMA",
    "ViewSet",
    "Reference",
    "load_efeds",
    "load_a907",
    "a907_ecf",
    "a907_background",
    "load_zwcl2341",
    "load_macsj0025",
    "load_all",
    "predict_view_set",
    "validation_table",
    "agreement",
    "main",
]

#: Default location of the real data: ``shared/data`` next to the repository (never packaged).
DATA_DIR = Path(massrecon.__file__).parents[2] / "shared" / "data"

#: Hydrostatic mass bias (1 - b) of the PSZ2 and MCXC masses and its uncertainty: Planck 2015
#: results XXIV (A&A 594, A24) use (1 - b) = 0.8 with a range 0.7-1.0.
HYDROSTATIC_BIAS = (0.8, 0.1)

#: MCXC masses come from the L-M relation without a per-cluster error; its scatter (Pratt et al.
#: 2009, A&A 498, 361: ~0.17 dex in L at fixed M, i.e. ~25% in M) is taken as the error.
MCXC_FRACTIONAL_ERROR = 0.25

#: Agreement criterion of the table and the tests: |model - reference| <= AGREEMENT_SIGMA x the
#: combined 1-sigma uncertainty (model and reference in quadrature).
AGREEMENT_SIGMA = 2.0

_STARTS = (("catalogue frame", None), ("scaling relations", "relation"), ("self-consistent from 0.5x", 0.5),
           ("self-consistent from 2x", 2.0))


@dataclasses.dataclass
class Reference:
    """A catalogue mass: ``m500`` as published, its 1-sigma ``error`` and its definition."""

    catalog: str
    name: str
    m500: u.Quantity
    error: u.Quantity
    definition: str

    def true_mass(self):
        """The mass corrected for the hydrostatic bias, with the bias' uncertainty added."""
        one_minus_b, sigma_b = HYDROSTATIC_BIAS
        m = self.m500 / one_minus_b
        err = np.hypot(self.error / one_minus_b, m * sigma_b / one_minus_b)
        return m, err


@dataclasses.dataclass
class ViewSet:
    """One cluster with one set of observations, its starting frame and the reference masses."""

    cluster: str
    label: str
    observations: list
    frame: ClusterFrame
    frame_source: str
    references: list
    in_domain: bool = True
    notes: str = ""


# --- helpers ----------------------------------------------------------------------------------
def _catalogs(data_dir):
    cat = Path(data_dir) / "catalogs"
    return read_psz2(cat / "HFI_PCCS_SZ-union_R2.08.fits"), read_mcxc(cat / "mcxc.fits")


def _references(position, psz2, mcxc):
    """PSZ2 and MCXC entries within 5 arcmin, with their errors (`find_clusters` gives none)."""
    refs = []
    for m in find_clusters(position, [psz2, mcxc], radius=5 * u.arcmin):
        if not np.isfinite(m["m500"]):
            continue
        if m["catalog"] == "PSZ2":
            row = psz2[np.char.strip(np.asarray(psz2["NAME"]).astype(str)) == m["name"]][0]
            err = 0.5 * (u.Quantity(row["MSZ_ERR_UP"], u.Msun) + u.Quantity(row["MSZ_ERR_LOW"], u.Msun))
            err = u.Quantity(err if err.unit != u.one else err.value * 1e14, u.Msun)
        else:
            err = MCXC_FRACTIONAL_ERROR * m["m500"]
        refs.append(Reference(m["catalog"], m["name"], m["m500"].to(u.Msun), err.to(u.Msun), m["mass_definition"]))
    return refs


def _mean_photon_energy(band, kT, z, nh):
    """Mean energy of the absorbed bremsstrahlung photons in an observed band (photon-weighted)."""
    e = np.linspace(*band.to_value(u.keV), 2001) * u.keV
    n = photon_spectrum(e, kT, z) * transmission(e, nh)
    return (np.trapezoid((e * n).value, e.value) / np.trapezoid(n.value, e.value)) * u.keV


def _wcs(header):
    with warnings.catch_warnings():
        # deprecated keywords (RADECSYS, MJDREF dates) of the archives' headers, fixed by astropy
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header).celestial


def _tan_wcs(center, npix, pixel):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [center.ra.deg, center.dec.deg]
    # the cut-outs are centred on the cluster: the centre is the middle of the array
    w.wcs.crpix = [(npix[1] + 1) / 2, (npix[0] + 1) / 2]
    w.wcs.cdelt = [-pixel.to_value(u.deg), pixel.to_value(u.deg)]
    w.wcs.set()
    return w


# --- the clusters -----------------------------------------------------------------------------
EFEDS_NH = 3.5e20 * u.cm**-2  # the field's Galactic column, as mbproj2d's eFEDS example
EFEDS_BANDS = ("0600_1100", "1100_1600", "1600_2200")


def load_efeds(data_dir=DATA_DIR):
    """The main cluster of the eROSITA eFEDS example field (z = 0.33), 0.6-2.2 keV counts.

    The three bands between 0.6 and 2.2 keV are summed; the exposure is the mean of their
    vignetted exposure maps (they differ by a few per cent) and the ECF is that of the eFEDS ARF
    for the absorbed flux of a 3 keV plasma (PSF loss removed).  A flat sky background is
    estimated from the count rate beyond 12 arcmin of the cluster (away from the second cluster).
    No catalogue has this cluster: its frame uses a stated guess, M500 = 2e14 Msun.
    """
    d = Path(data_dir) / "efeds"
    band, kT = [0.6, 2.2] * u.keV, 3 * u.keV
    with fits.open(d / f"img_{EFEDS_BANDS[0]}.fits.gz") as h:
        wcs = _wcs(h[0].header)
    counts = sum(fits.getdata(d / f"img_{b}.fits.gz").astype(float) for b in EFEDS_BANDS)
    expo = sum(fits.getdata(d / f"expmap_norm_{b}.fits.gz").astype(float) for b in EFEDS_BANDS) / len(EFEDS_BANDS)
    mask = fits.getdata(d / "mask.fits.gz") == 0
    center = SkyCoord(140.3384, 3.2906, unit="deg")
    other = SkyCoord(140.0918, 3.0185, unit="deg")
    yy, xx = np.indices(counts.shape)
    sky = wcs.pixel_to_world(xx, yy)
    far = (sky.separation(center) > 12 * u.arcmin) & (sky.separation(other) > 5 * u.arcmin) & ~mask & (expo > 0)
    rate = counts[far].sum() / expo[far].sum()  # counts per second per pixel
    arf = read_arf(d / "spec_020_ARF_00001.fits", remove_psf_loss=True)
    ecf = energy_conversion_factor(arf, band, kT, z=0.33, nh=EFEDS_NH, flux="absorbed")
    img = XrayImage.from_counts(counts, expo * u.s, wcs=wcs, band=band, ecf=ecf, background=rate * expo,
                                mask=mask, beam=0.3 * u.arcmin, kT=kT, nh=EFEDS_NH, name="eFEDS main cluster")
    frame = ClusterFrame(center, 0.33, m500=2e14 * u.Msun, name="eFEDS J092121+031726")
    return [ViewSet("eFEDS main cluster (z=0.33)", "xray: eROSITA 0.6-2.2 keV", [img], frame,
                    "stated guess, M500 = 2e14 Msun", [],
                    notes=f"ECF {ecf.to_value(u.ct * u.cm**2 / u.erg):.3g} ct cm2/erg from the ARF")]


#: Assumed XMM-Newton EPIC ECFs in 0.5-2 keV for the absorbed flux of a ~6 keV plasma (thin/medium
#: filters, on axis; XMM-Newton Users Handbook effective areas), ct cm2/erg per camera.
A907_CAMERA_ECF = {"EPN": 7.0e11, "EMOS1": 2.0e11, "EMOS2": 2.0e11}


def a907_ecf(image_header, expmap):
    """The ECF of one merged XMM image of Abell 907 for counts divided by its merged exposure map.

    The merged exposure maps are ``emosaic`` mosaics of each camera's *scaled* exposure map
    (``expmap_scaled`` in their ``XPROC0`` card): their maximum (on axis) is 2.5-2.8 times the
    cameras' summed exposures (``EMSCE00n``: 1.3-3.1e4 s), so ``counts / expmap`` is not a rate in
    ct/s per camera.  The counts of a source of flux F are :math:`F \\sum_i E_i\\,{\\rm ECF}_i` over
    the cameras (`A907_CAMERA_ECF`); divided by the maximum of the map they give the ECF of that
    ratio: 1.17e11 ct cm2/erg for all three observations, whose pn / MOS mixes differ.  Reading the
    maps as summed seconds (the cameras' mean ECF, 3.67e11) gave a third of the flux.

    Parameters
    ----------
    image_header : `~astropy.io.fits.Header`
        Header of the merged image, with its ``EMSCInnn`` (camera) and ``EMSCEnnn`` (exposure, s)
        cards.
    expmap : array
        The merged exposure map.

    Returns
    -------
    ecf : `~astropy.units.Quantity`
        In ct cm2 / erg, for ``counts / expmap``.
    """
    peak = float(np.nanmax(expmap)) if np.size(expmap) else 0.0
    if not np.isfinite(peak) or peak <= 0:
        raise ValueError("expmap: the merged exposure map has no positive finite value")
    total, n = 0.0, 1
    while (inst := image_header.get(f"EMSCI{n:03d}")) is not None:
        inst = str(inst).strip()
        if inst not in A907_CAMERA_ECF:
            raise ValueError(f"image_header: EMSCI{n:03d} names camera {inst!r}; expected one of "
                             f"{sorted(A907_CAMERA_ECF)}")
        if f"EMSCE{n:03d}" not in image_header:
            raise ValueError(f"image_header: EMSCI{n:03d} has no exposure card EMSCE{n:03d}")
        total += float(image_header[f"EMSCE{n:03d}"]) * A907_CAMERA_ECF[inst]
        n += 1
    if total <= 0:
        raise ValueError("image_header: names no camera exposures (EMSCInnn / EMSCEnnn cards)")
    return total / peak * u.ct * u.cm**2 / u.erg


def a907_background(counts, expmap, wcs, frame, inner=1.3):
    """Background counts per pixel of a merged XMM image of Abell 907.

    Beyond about R500 the count rate per unit of exposure stops falling and rises again towards
    the edge of the field, where the particle background, which the mirrors do not vignette,
    dominates.  The background is fitted there as ``a * expmap + b``: a sky part vignetted like
    the cluster and a flat particle part, both non-negative (`scipy.optimize.nnls`).

    Parameters
    ----------
    counts, expmap : array
        The merged image (counts, negatives already clipped) and its exposure map.
    wcs : `~astropy.wcs.WCS`
        Of the image.
    frame : `~massrecon.ClusterFrame`
        Its centre and :math:`\\theta_{500}` place the fitting region.
    inner : float
        The fit uses the pixels beyond ``inner`` R500 whose exposure is above a fifth of its
        maximum.

    Returns
    -------
    background : array
        Expected background counts per pixel, the shape of ``counts``.
    """
    counts = np.asarray(counts, dtype=float)
    expmap = np.asarray(expmap, dtype=float)
    yy, xx = np.indices(counts.shape)
    sep = wcs.pixel_to_world(xx, yy).separation(frame.center)
    good = np.isfinite(counts) & np.isfinite(expmap) & (expmap > 0.2 * np.nanmax(expmap))
    outer = good & (sep > inner * frame.theta500)
    if outer.sum() < 1000:
        raise ValueError(f"only {outer.sum()} exposed pixels beyond {inner} R500 of the frame to fit the "
                         "background on (at least 1000 needed)")
    design = np.vstack([expmap[outer], np.ones(outer.sum())]).T
    (a, b), _ = optimize.nnls(design, counts[outer])
    return a * expmap + b


A907_NH = 5.3e20 * u.cm**-2  # approximate Galactic column towards A907 (HI surveys)
A907_OBSIDS = ("0201901401", "0201903501", "0404910601")


def load_a907(data_dir=DATA_DIR):
    """Abell 907 (z = 0.1669): one view set per XMM-Newton observation (merged pn+MOS, 0.5-2 keV).

    The merged images hold small negative values (pn out-of-time events subtracted); they are
    clipped at zero, since `~massrecon.observations.XrayImage.from_counts` takes counts >= 0.
    The field (15 arcmin in radius) holds no region beyond 2 R200 (19 arcmin), but beyond about
    R500 the count rate per unit of exposure stops falling (it rises again towards the edge, where
    the particle background, which the mirrors do not vignette, dominates).  The background of
    each pixel is fitted beyond 1.3 R500 of the catalogue frame as ``a * expmap + b``: a vignetted
    sky part and a flat particle part, in counts (`a907_background`).
    """
    d = Path(data_dir) / "realclusters" / "a907_xmm"
    psz2, mcxc = _catalogs(data_dir)
    frame = frame_from_psz2("PSZ2 G249.38+33.26", psz2, bias=1 - HYDROSTATIC_BIAS[0], name="Abell 907")
    refs = _references(frame.center, psz2, mcxc)
    out = []
    for obsid in A907_OBSIDS:
        with fits.open(d / f"{obsid}_0.5-2.0keV_merged_img.fits.gz") as h:
            counts, wcs, header = np.clip(h[0].data.astype(float), 0, None), _wcs(h[0].header), h[0].header
        expo = fits.getdata(d / f"{obsid}_0.5-2.0keV_merged_expmap.fits.gz").astype(float)
        ecf = a907_ecf(header, expo)
        background = a907_background(counts, expo, wcs, frame)
        img = XrayImage.from_counts(counts, expo * u.s, wcs=wcs, ecf=ecf, background=background, beam=0.2 * u.arcmin,
                                    kT=6 * u.keV, nh=A907_NH, name=f"A907 XMM {obsid}")
        out.append(ViewSet("Abell 907 (z=0.167)", f"xray: XMM {obsid}", [img], frame,
                           "PSZ2 MSZ / 0.8", refs,
                           notes=f"ECF {ecf.to_value(u.ct * u.cm**2 / u.erg):.3g} ct cm2/erg (scaled exposure maps); "
                                 "background fitted beyond 1.3 R500; negatives clipped"))
    return out


ZWCL_OBSIDS = ("5786", "17170")
ZWCL_NH = 3.5e20 * u.cm**-2  # approximate Galactic column towards ZwCl 2341.1+0000 (HI surveys)
ZWCL_KT = 5 * u.keV  # assumed gas temperature for the mean photon energy and the corrections


def load_zwcl2341(data_dir=DATA_DIR):
    """ZwCl 2341.1+0000 (z = 0.27): Chandra ACIS, the two observations summed, 0.5-2 keV.

    The exposure maps are in cm2 s (CIAO): counts / expmap is a photon flux.  The energy flux is
    the photon flux times the mean photon energy of the absorbed spectrum in the band
    (`massrecon.physics.photon_spectrum` x `~massrecon.physics.transmission`, kT = 5 keV), so the
    exposure is passed as ``expmap / (1 cm2)`` (in s) with ``ecf = 1 cm2 / <E>``.  The stowed
    (particle) background is scaled by the ratio of the exposures in the headers.
    """
    d = Path(data_dir) / "realclusters" / "zwcl2341_chandra"
    psz2, mcxc = _catalogs(data_dir)
    frame = frame_from_psz2("PSZ2 G089.46-58.09", psz2, bias=1 - HYDROSTATIC_BIAS[0], name="ZwCl 2341.1+0000")
    counts = expmap = bkg = 0.0
    for obsid in ZWCL_OBSIDS:
        with fits.open(d / f"{obsid}_0.5-2.0keV_srcfree_counts.fits.gz") as h:
            counts = counts + h[0].data.astype(float)
            wcs, t_obs = _wcs(h[0].header), float(h[0].header["EXPOSURE"])
        expmap = expmap + fits.getdata(d / f"{obsid}_0.5-2.0keV_expmap_cm2s.fits.gz").astype(float)
        with fits.open(d / f"{obsid}_0.5-2.0keV_stowed_background.fits.gz") as h:
            bkg = bkg + h[0].data.astype(float) * t_obs / float(h[0].header["EXPOSURE"])
    band = [0.5, 2.0] * u.keV
    energy = _mean_photon_energy(band, ZWCL_KT, frame.z, ZWCL_NH)
    ecf = (1 * u.ct * u.cm**2 / energy).to(u.ct * u.cm**2 / u.erg)
    img = XrayImage.from_counts(counts, expmap * u.s, wcs=wcs, band=band, ecf=ecf, background=bkg,
                                beam=0.1 * u.arcmin, kT=ZWCL_KT, nh=ZWCL_NH, name="ZwCl 2341 Chandra")
    return [ViewSet("ZwCl 2341.1+0000 (z=0.27)", "xray: Chandra 5786+17170", [img], frame, "PSZ2 MSZ / 0.8",
                    _references(frame.center, psz2, mcxc),
                    notes=f"<E> = {energy.to_value(u.keV):.3f} keV; merging system")]


#: The MACS J0025 cut-outs: file, effective frequency, pixel size, beam FWHM (README of the data and
#: the origin's code, harrylu/clustergnfwfit_package extract_maps.py: 30" ACT pixels, uK_CMB), and the
#: dispersion of the Gaussian high-pass assumed for the filtering (no transfer function comes with
#: the files): ACT, the subtraction of the Planck CMB reconvolved to the ACT beam, which removes
#: what a 5' (FWHM) map holds, theta = 5' / 2.355 = 2.1'; Bolocam, a transfer function that passes
#: half of a 10' wave (Sayers et al. 2011, ApJ 728, 39, Fig. 4), theta = 10' / 5.34 = 1.9'.
MACSJ0025_MAPS = (("act_150_data.npy", "ACT 150 GHz", 150 * u.GHz, 30 * u.arcsec, 1.4 * u.arcmin, 2.1 * u.arcmin),
                  ("act_90_data.npy", "ACT 90 GHz", 90 * u.GHz, 30 * u.arcsec, 2.1 * u.arcmin, 2.1 * u.arcmin),
                  ("bolocam_data.npy", "Bolocam 140 GHz", 140 * u.GHz, 20 * u.arcsec, 58 * u.arcsec,
                   1.9 * u.arcmin))
MACSJ0025_CENTER = SkyCoord("00h25m29.9s", "-12d22m45s")


def load_macsj0025(data_dir=DATA_DIR):
    """MACS J0025.4-1222 (z = 0.586): ACT 90/150 GHz and Bolocam 140 GHz cut-outs, one view set each.

    The arrays are CMB-subtracted, *filtered* temperature maps in uK_CMB without a WCS: a TAN WCS
    is built at the stated centre and pixel size, and `~massrecon.physics.y_from_map` converts
    them to Compton-y.  The per-pixel noise is the standard deviation beyond 5 arcmin of the
    centre.  Each map is given the assumed Gaussian high-pass of `MACSJ0025_MAPS` as its transfer
    function; the rows are inside the model's domain when the weights were trained on filtered y.
    """
    d = Path(data_dir) / "realclusters" / "macsj0025_sz"
    psz2, mcxc = _catalogs(data_dir)
    frame = frame_from_mcxc("J0025.4-1222", mcxc, name="MACS J0025.4-1222")
    refs = _references(frame.center, psz2, mcxc)
    filtered_ok = _weights_take_filtered_sz()
    out = []
    for fname, label, nu, pixel, beam, theta in MACSJ0025_MAPS:
        temp = np.load(d / fname) * u.uK
        y = y_from_map(temp, nu)
        wcs = _tan_wcs(MACSJ0025_CENTER, y.shape, pixel)
        yy, xx = np.indices(y.shape)
        r = np.hypot(yy - (y.shape[0] - 1) / 2, xx - (y.shape[1] - 1) / 2) * pixel
        noise = np.full(y.shape, np.std(y[r > 5 * u.arcmin]))
        ymap = ComptonYMap(y, wcs=wcs, beam=beam, noise=noise, name=f"MACS J0025 {label}",
                           transfer_function=TransferFunction.high_pass(theta))
        notes = (f"filtered SZ map, assumed Gaussian high-pass theta = {theta.to_value(u.arcmin):.1f}'"
                 if filtered_ok else "filtered SZ map: outside the model's domain")
        out.append(ViewSet("MACS J0025.4-1222 (z=0.586)", f"sz: {label} (filtered)", [ymap], frame,
                           "MCXC M500", refs, in_domain=filtered_ok, notes=notes))
    return out


def _weights_take_filtered_sz():
    """Whether the bundled weights were trained on filtered y maps."""
    import json

    from astropy.utils.data import get_pkg_data_path

    meta = json.loads(Path(get_pkg_data_path("models", "weights", "generator.json", package="massrecon")).read_text())
    return "sz_highpass_r200" in meta.get("supported", {})


def load_all(data_dir=DATA_DIR):
    """Every view set of every cluster, in the order of the table."""
    return [*load_efeds(data_dir), *load_a907(data_dir), *load_zwcl2341(data_dir), *load_macsj0025(data_dir)]


# --- predictions ------------------------------------------------------------------------------
def _short_flag(w):
    # the same warning repeats on every frame of a self-consistent solve with other numbers: write
    # every number as N, so that repeats collapse into one flag
    text = re.sub(r"(?<![\w.])[-+]?\d[\d.]*(e[-+]?\d+)?", "N", " ".join(str(w.message).split()))
    return f"{w.category.__name__}: {text[:70]}{'...' if len(text) > 70 else ''}"


def predict_view_set(rec, vs, start=None):
    """M500c of a view set: on its frame (``start=None``), self-consistently from ``start`` x M500,
    or the weights' scaling relations alone (``start="relation"``,
    `~massrecon.MassReconstructor.relation_mass`, with their scatter as the error).

    Returns a dict with the mass, its error, the R200 history length and short warning flags.
    """
    t0 = time.perf_counter()
    if start == "relation":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                rm = rec.relation_mass(vs.observations, vs.frame)
            except ValueError as exc:
                text = " ".join(str(exc).split())
                return dict(m500=np.nan * u.Msun, error=np.nan * u.Msun, runtime=time.perf_counter() - t0,
                            flags=[f"FAILED: {text[:110]}{'...' if len(text) > 110 else ''}"])
        flags = list(dict.fromkeys(_short_flag(w) for w in caught))
        return dict(m500=rm.m500.to(u.Msun), error=rm.m500.to(u.Msun) * rm.scatter_dex * np.log(10), flags=flags,
                    runtime=time.perf_counter() - t0)
    frame = vs.frame if start is None else vs.frame.with_mass(m500=start * vs.frame.m500)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            m = rec.predict(vs.observations, frame, r200_error=0.3, self_consistent=start is not None)
            mass = m.spherical_mass(500)
        except ValueError as exc:
            # e.g. a self-consistent frame that grows beyond the image's footprint: a row saying so
            text = " ".join(str(exc).split())
            return dict(m500=np.nan * u.Msun, error=np.nan * u.Msun, runtime=time.perf_counter() - t0,
                        flags=[f"FAILED: {text[:110]}{'...' if len(text) > 110 else ''}"])
    flags = list(dict.fromkeys(_short_flag(w) for w in caught))
    return dict(m500=mass.mass.to(u.Msun), error=mass.error.to(u.Msun), flags=flags,
                runtime=time.perf_counter() - t0)


def agreement(m500, error, reference):
    """Pull (model - bias-corrected reference) / combined sigma and whether ``abs(pull) <= AGREEMENT_SIGMA``.

    Parameters
    ----------
    m500, error : `~astropy.units.Quantity`
        The model's M500c and its 1-sigma error.
    reference : `Reference`
        The catalogue mass; compared after `Reference.true_mass` (hydrostatic bias corrected).

    Returns
    -------
    pull : float
    agrees : bool

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.validation.real_clusters import Reference, agreement
    >>> ref = Reference("PSZ2", "PSZ2 G000.00+00.00", 4e14 * u.Msun, 0.4e14 * u.Msun, "M500c")
    >>> pull, ok = agreement(6e14 * u.Msun, 1e14 * u.Msun, ref)
    >>> print(f"{pull:+.2f} {ok}")
    +0.78 True
    """
    ref, ref_err = reference.true_mass()
    pull = float((m500 - ref) / np.hypot(error, ref_err))
    return pull, abs(pull) <= AGREEMENT_SIGMA


def _rows(vs, start_label, result):
    refs = vs.references or [None]
    rows = []
    for ref in refs:
        failed = not np.isfinite(result["m500"])
        pull, ok = agreement(result["m500"], result["error"], ref) if ref is not None and not failed \
            else (np.nan, None)
        flags = ([] if vs.in_domain else ["outside domain (filtered SZ)"]) + result["flags"]
        rows.append(dict(
            cluster=vs.cluster, view_set=vs.label, start=start_label,
            m500=result["m500"].to_value(u.Msun) / 1e14, m500_err=result["error"].to_value(u.Msun) / 1e14,
            reference=f"{ref.catalog} {ref.name}" if ref else "none",
            ref_m500=ref.m500.to_value(u.Msun) / 1e14 if ref else np.nan,
            ref_err=ref.error.to_value(u.Msun) / 1e14 if ref else np.nan,
            ref_true=ref.true_mass()[0].to_value(u.Msun) / 1e14 if ref else np.nan,
            ref_true_err=ref.true_mass()[1].to_value(u.Msun) / 1e14 if ref else np.nan,
            pull=pull, agree=("failed" if failed else "n/a") if ok is None else ("yes" if ok else "no"),
            flags="; ".join(flags) or "-"))
    return rows


def validation_table(view_sets, rec=None, self_consistent=True):
    """The validation table (an astropy QTable, masses in 1e14 Msun) of the given view sets."""
    rec = rec or massrecon.MassReconstructor.pretrained()
    rows = []
    for vs in view_sets:
        for label, start in _STARTS if self_consistent else _STARTS[:1]:
            rows.extend(_rows(vs, label, predict_view_set(rec, vs, start)))
    t = QTable(rows=rows)
    for col in ("m500", "m500_err", "ref_m500", "ref_err", "ref_true", "ref_true_err"):
        t[col].info.format = ".2f"
    t["pull"].info.format = "+.2f"
    t.meta["comments"] = [f"masses M500c in 1e14 Msun; reference true mass = catalogue / {HYDROSTATIC_BIAS[0]}"
                          f" +- {HYDROSTATIC_BIAS[1]} in (1-b); agree = abs(pull) <= {AGREEMENT_SIGMA}",
                          f"massrecon {massrecon.__version__}"]
    return t


def _pm(row, value, error):
    return "-" if not np.isfinite(row[value]) else f"{row[value]:.2f} ± {row[error]:.2f}"


def _rst(table):
    """The table as an RST list-table (long cells wrap, unlike a simple table)."""
    cols = [("Cluster", "cluster"), ("View set", "view_set"), ("Start", "start"), ("Model M500", None),
            ("Reference", "reference"), ("Catalogue M500", None), ("Bias-corrected", None), ("Pull", None),
            ("Agree", "agree"), ("Flags", "flags")]
    lines = [".. list-table:: M500c (1e14 Msun): bundled model vs catalogues (generated, do not edit)",
             "   :header-rows: 1", "   :widths: 12 12 10 8 12 8 8 5 5 20", ""]
    lines.append("   * - " + "\n     - ".join(c for c, _ in cols))
    for r in table:
        cells = [r["cluster"], r["view_set"], r["start"], _pm(r, "m500", "m500_err"), r["reference"],
                 _pm(r, "ref_m500", "ref_err"), _pm(r, "ref_true", "ref_true_err"),
                 "-" if not np.isfinite(r["pull"]) else f"{r['pull']:+.1f}", r["agree"], r["flags"]]
        lines.append("   * - " + "\n     - ".join(str(c).replace("*", r"\*") for c in cells))
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Command line: regenerate the table (RST include + ECSV)."""
    parser = argparse.ArgumentParser(prog="python -m massrecon.validation.real_clusters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/validation_table.rst", help="RST include to write")
    parser.add_argument("--data", default=str(DATA_DIR), help="the shared data directory")
    parser.add_argument("--no-self-consistent", action="store_true", help="catalogue frames only (fast)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    table = validation_table(load_all(args.data), self_consistent=not args.no_self_consistent)
    out = Path(args.out)
    out.write_text(_rst(table), encoding="utf-8")
    table.write(out.with_suffix(".ecsv"), overwrite=True)
    print(f"wrote {out} and {out.with_suffix('.ecsv')} ({len(table)} rows) in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
