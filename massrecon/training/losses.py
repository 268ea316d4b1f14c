"""Training losses.

All losses are per-sample means averaged over the batch, so that under
DistributedDataParallel the average of the ranks' gradients equals the gradient of the global
batch.

- `l1_loss`: mean absolute error of ``t = log10(Sigma / 1e8)`` (dex); optionally of its shape
  only (each sample's mean error removed), leaving the amplitude to the integrated terms.
- `mass_loss`: absolute error of ``log10 M(<R200)`` (dex), the mass integrated from
  ``10**t`` over the disc of the true R200 (whose radius in pixels the augmentation knows).
- `profile_loss`: mean absolute error of the ``log10`` azimuthally averaged Sigma (linear mean,
  not the mean of ``t``) in logarithmic annuli from 0.1 to 1 R200.  Pixel-wise L1 drives each
  pixel to its conditional *median*; the invisible dark subhaloes make the pixel distribution
  skewed, so a median map under-predicts the *mean* Sigma of an annulus (by ~6% at 0.6-1 R200
  for the weights of version 0.1).  This term asks for the annulus means instead.
- `gan_generator_loss` / `gan_discriminator_loss`: the pix2pix adversarial terms (binary
  cross-entropy on PatchGAN logits).
- `power_spectrum_loss`: L1 distance of the log10 azimuthally averaged power spectra of the
  mean-subtracted ``t`` maps.
- `generator_loss`: the weighted sum used by the training loop.
"""

import math

import torch
from torch.nn import functional as F

from ..models.unet import disc_mask

__all__ = ["LOSS_WEIGHTS", "SHAPE_ONLY_FLAGS",
           "l1_loss", "log_mass_within", "mass_loss", "log_profile", "profile_loss", "PROFILE_EDGES_R200",
           "gan_generator_loss", "gan_discriminator_loss", "power_spectrum_loss", "generator_loss"]

_LN10 = math.log(10.0)

#: The weights of `generator_loss`'s terms (``[loss]`` keys of a training configuration).
LOSS_WEIGHTS = ("l1_weight", "mass_weight", "profile_weight", "gan_weight", "ps_weight")
#: Its switches that make a term blind to the maps' level (`l1_loss`, `profile_loss`).
SHAPE_ONLY_FLAGS = ("l1_shape_only", "profile_shape_only")


def l1_loss(pred, target, shape_only=False):
    """Mean absolute error (in the units of ``t``, dex).

    With ``shape_only``, each sample's mean error is subtracted first, so the term is blind to a
    uniform shift of ``t``: it constrains the shape of the map and leaves its amplitude to the
    integrated terms (`mass_loss`, `profile_loss`).  A pixel-wise L1 drives every pixel to its
    conditional median; where the pixels' posteriors are broad (noisy or missing inputs, an
    uncertain frame) the sum of the medians falls below the median of the sum, and a map whose
    amplitude is set by the pixels comes out low in mass.

    Examples
    --------
    >>> import torch
    >>> from massrecon.training.losses import l1_loss
    >>> float(l1_loss(torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)))
    1.0
    >>> float(l1_loss(torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4), shape_only=True))
    0.0
    """
    diff = pred - target
    if shape_only:
        diff = diff - diff.mean(dim=tuple(range(1, diff.dim())), keepdim=True)
    return diff.abs().mean()


def log_mass_within(t, radius_px):
    """``log10`` of the sum of ``10**t`` over the disc of ``radius_px`` (per sample, shape (B,)).

    Computed as a masked log-sum-exp, so it is exact and stable for any ``t``.  Multiply the sum
    by the pixel area and the reference density to get a mass.

    Examples
    --------
    A map of ``t = 0`` (Sigma at the reference density) sums to the number of pixels in the
    disc, 80 for a radius of 5 pixels on 16:

    >>> import torch
    >>> from massrecon.training.losses import log_mass_within
    >>> t = torch.zeros(1, 1, 16, 16)
    >>> round(float(log_mass_within(t, torch.tensor([5.0]))), 5)  # log10(80)
    1.90309
    >>> round(float(log_mass_within(t + 1.0, torch.tensor([5.0]))), 5)  # ten times denser
    2.90309
    """
    b, _, n, _ = t.shape
    mask = disc_mask(n, radius_px.to(t.dtype), device=t.device, dtype=t.dtype)
    logits = t[:, 0] * _LN10 + torch.log(mask.clamp_min(1e-30))
    return torch.logsumexp(logits.reshape(b, -1), dim=1) / _LN10


def mass_loss(pred, target, radius_px):
    """Mean absolute error of ``log10 M(<R200)`` (dex).

    Examples
    --------
    A perfect prediction gives 0; one 0.2 dex too high everywhere gives 0.2:

    >>> import torch
    >>> from massrecon.training.losses import mass_loss
    >>> t = torch.zeros(2, 1, 16, 16)
    >>> r200_px = torch.tensor([5.0, 6.0])
    >>> float(mass_loss(t, t, r200_px))
    0.0
    >>> round(float(mass_loss(t + 0.2, t, r200_px)), 5)
    0.2
    """
    return (log_mass_within(pred, radius_px) - log_mass_within(target, radius_px)).abs().mean()


#: Edges of the annuli of `profile_loss`, in units of R200 (those of the validation profiles).
PROFILE_EDGES_R200 = tuple(float(x) for x in torch.logspace(-1, 0, 9, dtype=torch.float64))


def _annuli(t, radius_px, edges_r200):
    """Masks (B, n_bins, N*N) of the annuli ``edges_r200 * radius_px`` and their pixel counts."""
    n = t.shape[-1]
    idx = torch.arange(n, device=t.device, dtype=t.dtype) - (n - 1) / 2.0
    r = torch.hypot(idx[None, :], idx[:, None]).reshape(1, 1, -1)
    edges = torch.as_tensor(edges_r200, device=t.device, dtype=t.dtype)
    e = edges[None, :] * radius_px.to(t.dtype)[:, None]  # (B, n_edges)
    mask = ((r >= e[:, :-1, None]) & (r < e[:, 1:, None])).to(t.dtype)
    return mask, mask.sum(dim=2)


def _log_means(t, mask, count):
    """log10 of the mean of 10**t under each mask (a masked log-sum-exp; empty masks: finite junk)."""
    logits = t[:, 0].reshape(t.shape[0], 1, -1) * _LN10 + torch.log(mask.clamp_min(1e-30))
    return (torch.logsumexp(logits, dim=2) - torch.log(count.clamp_min(1.0))) / _LN10


def log_profile(t, radius_px, edges_r200=PROFILE_EDGES_R200):
    """``log10`` of the mean of ``10**t`` in annuli (per sample, shape (B, n_bins)).

    ``radius_px`` (B,) is R200 in pixels; the annuli are ``edges_r200`` times it.  Like
    `log_mass_within`, a masked log-sum-exp, exact and stable for any ``t``.  An annulus with
    no pixel centre gives ``-inf``.

    Examples
    --------
    >>> import torch
    >>> from massrecon.training.losses import log_profile
    >>> t = torch.zeros(1, 1, 32, 32)
    >>> bool(torch.allclose(log_profile(t, torch.tensor([12.0])), torch.zeros(1, 8), atol=1e-6))
    True
    """
    mask, count = _annuli(t, radius_px, edges_r200)
    return torch.where(count > 0, _log_means(t, mask, count), -math.inf)


def profile_loss(pred, target, radius_px, edges_r200=PROFILE_EDGES_R200, shape_only=False):
    """Mean absolute error of the ``log10`` annulus means of ``10**t`` (dex), see `log_profile`.

    Annuli without a pixel centre (R200 of a few pixels) are left out.  With ``shape_only``, each
    sample's mean error over its annuli is subtracted first, so the term constrains the profile's
    shape and leaves its level to `mass_loss`: the annulus means of the outer bins have skewed
    conditional distributions too (invisible subhaloes), and the sum of their medians falls below
    the median of the integrated mass.

    Examples
    --------
    >>> import torch
    >>> from massrecon.training.losses import profile_loss
    >>> t = torch.zeros(2, 1, 32, 32)
    >>> round(float(profile_loss(t + 0.1, t, torch.tensor([12.0, 14.0]))), 6)
    0.1
    >>> round(float(profile_loss(t + 0.1, t, torch.tensor([12.0, 14.0]), shape_only=True)), 6)
    0.0
    """
    mask, count = _annuli(pred, radius_px, edges_r200)
    valid = count > 0
    if not bool(valid.any()):
        raise ValueError("profile_loss: no annulus holds a pixel centre; radius_px is too small")
    diff = _log_means(pred, mask, count) - _log_means(target, mask, count)
    if shape_only:
        diff = diff - (torch.where(valid, diff, 0.0).sum(dim=1, keepdim=True)
                       / valid.sum(dim=1, keepdim=True).clamp_min(1))
    return diff.abs()[valid].mean()


def gan_generator_loss(fake_logits):
    """Non-saturating generator loss: BCE of the discriminator's logits on fakes against 1.

    Examples
    --------
    Undecided logits (0, probability 1/2) cost ``ln 2``; fakes taken for real cost nearly 0:

    >>> import torch
    >>> from massrecon.training.losses import gan_generator_loss
    >>> round(float(gan_generator_loss(torch.zeros(2, 1, 3, 3))), 5)  # ln 2
    0.69315
    >>> round(float(gan_generator_loss(torch.full((2, 1, 3, 3), 20.0))), 5)
    0.0
    """
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def gan_discriminator_loss(real_logits, fake_logits):
    """pix2pix discriminator loss: half the sum of the real (1) and fake (0) BCE terms.

    Examples
    --------
    >>> import torch
    >>> from massrecon.training.losses import gan_discriminator_loss
    >>> zeros = torch.zeros(2, 1, 3, 3)
    >>> round(float(gan_discriminator_loss(zeros, zeros)), 5)  # undecided: ln 2
    0.69315
    >>> round(float(gan_discriminator_loss(zeros + 20.0, zeros - 20.0)), 5)  # always right
    0.0
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)


def _radial_power(t, nbins):
    b, _, n, _ = t.shape
    x = t[:, 0] - t[:, 0].mean(dim=(1, 2), keepdim=True)
    p = torch.fft.rfft2(x, norm="ortho").abs() ** 2
    ky = torch.fft.fftfreq(n, device=t.device)[:, None]
    kx = torch.fft.rfftfreq(n, device=t.device)[None, :]
    k = torch.sqrt(kx**2 + ky**2)
    edges = torch.linspace(0.0, 0.5, nbins + 1, device=t.device)
    idx = torch.bucketize(k.reshape(-1), edges[1:-1])
    sums = torch.zeros(b, nbins, device=t.device, dtype=p.dtype).index_add_(1, idx, p.reshape(b, -1))
    counts = torch.bincount(idx, minlength=nbins).to(p.dtype)
    return sums[:, 1:] / counts[1:]  # drop the k ~ 0 bin


def power_spectrum_loss(pred, target, nbins=16):
    """Mean |log10 P_pred(k) - log10 P_true(k)| over ``nbins`` radial bins of the maps of ``t``.

    Examples
    --------
    >>> import torch
    >>> from massrecon.training.losses import power_spectrum_loss
    >>> torch.manual_seed(0) is not None
    True
    >>> x = torch.randn(2, 1, 16, 16)
    >>> float(power_spectrum_loss(x, x))
    0.0
    """
    pp = _radial_power(pred, nbins)
    pt = _radial_power(target, nbins)
    return (torch.log10(pp + 1e-12) - torch.log10(pt + 1e-12)).abs().mean()


def generator_loss(pred, batch, weights, fake_logits=None):
    """Weighted generator loss and its parts.

    Parameters
    ----------
    pred : `torch.Tensor`
        Predicted ``t`` maps (B, 1, N, N).
    batch : dict
        With ``t`` (B, 1, N, N) and ``r200_px`` (B,).
    weights : mapping
        ``l1_weight``, ``mass_weight``, ``profile_weight``, ``gan_weight``, ``ps_weight``
        (missing: 0), and ``l1_shape_only`` and ``profile_shape_only`` (missing: False; see
        `l1_loss` and `profile_loss`).
    fake_logits : `torch.Tensor`, optional
        Discriminator logits on ``pred`` (needed when ``gan_weight > 0``).

    Returns
    -------
    total : `torch.Tensor`
    parts : dict of float
        ``l1``, ``mass``, ``profile``, ``gan_g``, ``ps`` (unweighted values); only the terms
        with a weight > 0 besides ``l1``.

    Examples
    --------
    A prediction 0.1 dex too high everywhere: L1 and mass errors of 0.1 each, so
    ``100 * 0.1 + 10 * 0.1 = 11``; a perfect prediction gives 0:

    >>> import torch
    >>> from massrecon.training.losses import generator_loss
    >>> batch = {"t": torch.zeros(2, 1, 16, 16), "r200_px": torch.tensor([5.0, 6.0])}
    >>> weights = {"l1_weight": 100.0, "mass_weight": 10.0}
    >>> total, parts = generator_loss(batch["t"] + 0.1, batch, weights)
    >>> round(float(total), 4), {k: round(v, 4) for k, v in parts.items()}
    (11.0, {'l1': 0.1, 'mass': 0.1})
    >>> float(generator_loss(batch["t"], batch, weights)[0])
    0.0
    """
    w = {k: float(weights.get(k, 0.0)) for k in LOSS_WEIGHTS}
    target = batch["t"]
    l1 = l1_loss(pred, target, shape_only=bool(weights.get("l1_shape_only", False)))
    total = w["l1_weight"] * l1
    parts = {"l1": float(l1.detach())}
    if w["mass_weight"] > 0:
        ml = mass_loss(pred, target, batch["r200_px"])
        total = total + w["mass_weight"] * ml
        parts["mass"] = float(ml.detach())
    if w["profile_weight"] > 0:
        pl = profile_loss(pred, target, batch["r200_px"],
                          shape_only=bool(weights.get("profile_shape_only", False)))
        total = total + w["profile_weight"] * pl
        parts["profile"] = float(pl.detach())
    if w["gan_weight"] > 0:
        if fake_logits is None:
            raise ValueError("fake_logits are needed when gan_weight > 0")
        gl = gan_generator_loss(fake_logits)
        total = total + w["gan_weight"] * gl
        parts["gan_g"] = float(gl.detach())
    if w["ps_weight"] > 0:
        pl = power_spectrum_loss(pred, target)
        total = total + w["ps_weight"] * pl
        parts["ps"] = float(pl.detach())
    return total, parts
