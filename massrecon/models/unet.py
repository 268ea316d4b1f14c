"""The generator (a conditional multi-view U-Net) and the PatchGAN discriminator.

`UNetGenerator` maps the transformed views (see `massrecon.models.transforms`) to the map of
``t = log10(Sigma / 1e8 Msun kpc^-2)``.  Its input is one channel per view plus one
presence-mask channel per view (a missing view is zeros with mask 0); the observing conditions
(beam, noise, pixel scale, redshift) enter by FiLM: every normalisation layer is followed by a
per-channel scale and shift computed from the conditioning vector.

The amplitude is separated from the shape: a scalar head on the bottleneck (global pooling plus
the conditioning embedding) predicts the mean of ``t`` over the frame's inscribed disc (radius
R200 of the assumed frame), and the decoder's map has its own disc mean removed before the scalar
is added.  The decoder then only learns the zero-mean shape, and the global amplitude gets a
direct, short gradient path.

With ``integral_features`` the conditioning embedding also gets, per view, the integral of the
view within the frame's R200 disc in physical units (Y in kpc^2, L_X in erg/s, M* in Msun; the
views are ``scale * sinh(x)``, see `~massrecon.models.transforms.ViewTransform`, and the pixel size
comes from the ``log10_pixel_kpc`` feature), as ``asinh(integral / reference) / 5``
(`~massrecon.contract.FRAME_INTEGRAL_REFERENCE`).  These are the observables of the scaling
relations (Y-M, L_X-M, M*-M); told them exactly, the network need not learn to add up
asinh-compressed pixels, and the mass it predicts can use what the relation knows (issue 15).
With ``integral_apertures_kpc`` the integrals are taken instead within fixed *physical* radii
(e.g. 300 and 600 kpc, cut at the frame's R200 disc), which do not grow with the assumed frame:
the self-consistent R200 search then gets no feedback from the feature itself (an integral within
the frame's R200 grows with the guessed R200, so a larger guess reads as a brighter cluster).
At survey depth, where almost every pixel is noise-dominated and ``asinh`` works in its
logarithmic regime, a pixel's value says little about the mean signal; the integral, a linear sum
of the physical map, keeps the amplitude that averaging over many pixels measures.

The encoder uses one 3x3 convolution per level after a strided downsampling convolution, the
decoder upsamples (nearest), projects with a 1x1 convolution and adds the skip connection
(additive skips, cheaper than concatenation at equal width), then refines with a 3x3
convolution.  GroupNorm throughout (batch-size independent; BatchNorm hurt in a probe).
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..contract import CONDITIONING_FEATURES, FRAME_INTEGRAL_REFERENCE, FRAME_NPIX, VIEW_SCALES
from .transforms import VIEWS, conditioning_names, n_conditioning, select_conditioning, validate_views

__all__ = ["UNetGenerator", "PatchGANDiscriminator", "count_parameters", "flops_per_map", "disc_mask"]


def _groups(channels):
    for g in (8, 4, 2):
        if channels % g == 0 and channels // g >= 2:
            return g
    return 1


def disc_mask(npix, radius_px=None, device=None, dtype=torch.float32):
    """Mask (npix, npix) of the pixels whose centres lie within ``radius_px`` of the centre.

    The default radius is ``npix / 2`` (the frame's inscribed disc).  ``radius_px`` may be a
    tensor of shape (B,), giving a mask of shape (B, npix, npix).

    Examples
    --------
    >>> from massrecon.models.unet import disc_mask
    >>> int(disc_mask(8).sum())
    52
    """
    idx = torch.arange(npix, device=device, dtype=dtype) - (npix - 1) / 2.0
    r = torch.hypot(idx[None, :], idx[:, None])
    if radius_px is None:
        radius_px = npix / 2.0
    if isinstance(radius_px, torch.Tensor) and radius_px.ndim == 1:
        return (r[None] <= radius_px.to(dtype)[:, None, None]).to(dtype)
    return (r <= radius_px).to(dtype)


class _FiLMBlock(nn.Module):
    """conv -> GroupNorm -> FiLM(cond) -> LeakyReLU."""

    def __init__(self, cin, cout, emb, kernel=3, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.norm = nn.GroupNorm(_groups(cout), cout)
        self.film = nn.Linear(emb, 2 * cout)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x, e):
        x = self.norm(self.conv(x))
        gb = self.film(e)[:, :, None, None]
        gamma, beta = gb.chunk(2, dim=1)
        return F.leaky_relu(x * (1 + gamma) + beta, 0.2)


class UNetGenerator(nn.Module):
    """Conditional multi-view U-Net predicting ``log10(Sigma / 1e8 Msun kpc^-2)``.

    Parameters
    ----------
    views : sequence of str
        Views the model accepts, a non-empty subset of ``("sz", "xray", "stars")``.
    base_channels : int
        Channels at full resolution; level ``k`` has ``base_channels * 2**k`` (capped by
        ``max_channels``).
    depth : int
        Number of downsamplings (the input size must be divisible by ``2**depth``).
    n_cond : int, optional
        Length of the conditioning vector; default ``2 * len(views) + 2`` (see
        `~massrecon.models.transforms.encode_conditioning`).  0 disables conditioning.
    max_channels : int
        Cap on the channels of the deep levels.
    cond_embedding : int
        Width of the conditioning embedding feeding every FiLM layer.
    amplitude_head : bool
        Predict the disc-mean amplitude with a scalar head (see the module docstring); if False,
        the decoder predicts the map directly.
    integral_features : bool
        Add each view's integral within the frame's R200 disc to the conditioning (see the module
        docstring; default False, as for weights written before the option existed).
    integral_apertures_kpc : sequence of float, optional
        With ``integral_features``: take the integrals within these physical radii (kpc, each
        cut at the frame's R200 disc) instead of the R200 disc, one feature per view and radius.

    Examples
    --------
    >>> import torch
    >>> from massrecon.models import UNetGenerator
    >>> g = UNetGenerator(views=("sz", "xray"), base_channels=8, depth=2)
    >>> x = torch.zeros(2, 2, 16, 16)
    >>> mask = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    >>> cond = torch.zeros(2, g.n_cond)
    >>> g(x, mask, cond).shape
    torch.Size([2, 1, 16, 16])
    """

    def __init__(self, views=VIEWS, base_channels=16, depth=4, n_cond=None, max_channels=192,
                 cond_embedding=64, amplitude_head=True, integral_features=False, integral_apertures_kpc=None):
        super().__init__()
        self.views = validate_views(views)
        for name, val, lo in (("base_channels", base_channels, 2), ("depth", depth, 1),
                              ("max_channels", max_channels, 2), ("cond_embedding", cond_embedding, 1)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)):
                raise TypeError(f"{name} must be an integer, got {val!r}")
            if val < lo:
                raise ValueError(f"{name} must be >= {lo}, got {val}")
        self.n_views = len(self.views)
        self.n_cond = n_conditioning(self.views) if n_cond is None else int(n_cond)
        if self.n_cond < 0:
            raise ValueError(f"n_cond must be >= 0, got {n_cond}")
        #: Names of the conditioning features the weights take, when they lack optional ones of this
        #: version (set by the weights loader); a full vector is then cut to them in `forward`.
        self.conditioning = None
        self.base_channels = int(base_channels)
        self.depth = int(depth)
        self.max_channels = int(max_channels)
        self.cond_embedding = int(cond_embedding)
        self.amplitude_head = bool(amplitude_head)
        self.integral_features = bool(integral_features)
        if self.integral_features and "log10_pixel_kpc" not in conditioning_names(self.views)[:self.n_cond]:
            raise ValueError("integral_features needs the full conditioning vector (its log10_pixel_kpc feature)")
        if integral_apertures_kpc is not None:
            if not self.integral_features:
                raise ValueError("integral_apertures_kpc needs integral_features=True")
            aps = np.atleast_1d(np.asarray(integral_apertures_kpc, dtype=float))
            if aps.ndim != 1 or aps.size == 0 or not np.all(np.isfinite(aps)) or np.any(aps <= 0):
                raise ValueError("integral_apertures_kpc must be a non-empty sequence of finite radii > 0 (kpc), "
                                 f"got {integral_apertures_kpc!r}")
            integral_apertures_kpc = [float(a) for a in aps]
        self.integral_apertures_kpc = integral_apertures_kpc
        n_integrals = self.n_views * (len(integral_apertures_kpc) if integral_apertures_kpc else 1)
        emb = self.cond_embedding
        chans = [min(self.base_channels * 2**k, self.max_channels) for k in range(self.depth + 1)]
        self.channels = chans
        n_in = max(self.n_cond, 1) + (n_integrals if self.integral_features else 0)
        self.cond_mlp = nn.Sequential(nn.Linear(n_in, emb), nn.SiLU(),
                                      nn.Linear(emb, emb), nn.SiLU())
        self.stem = _FiLMBlock(2 * self.n_views, chans[0], emb)
        self.down = nn.ModuleList()
        self.enc = nn.ModuleList()
        for k in range(1, self.depth + 1):
            self.down.append(_FiLMBlock(chans[k - 1], chans[k], emb, kernel=3, stride=2))
            self.enc.append(_FiLMBlock(chans[k], chans[k], emb))
        self.proj = nn.ModuleList()
        self.dec = nn.ModuleList()
        for k in range(self.depth, 0, -1):
            self.proj.append(nn.Conv2d(chans[k], chans[k - 1], 1))
            self.dec.append(_FiLMBlock(chans[k - 1], chans[k - 1], emb))
        self.head = nn.Conv2d(chans[0], 1, 3, padding=1)
        if self.amplitude_head:
            self.amp = nn.Sequential(nn.Linear(chans[-1] + emb, 64), nn.SiLU(), nn.Linear(64, 1))
        self._masks = {}

    def config(self):
        """Constructor arguments (JSON-serialisable) to rebuild this model."""
        return {"views": list(self.views), "base_channels": self.base_channels, "depth": self.depth,
                "n_cond": self.n_cond, "max_channels": self.max_channels,
                "cond_embedding": self.cond_embedding, "amplitude_head": self.amplitude_head,
                "integral_features": self.integral_features, "integral_apertures_kpc": self.integral_apertures_kpc}

    def _check(self, x, mask, cond):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.n_views:
            raise ValueError(f"x must have shape (batch, {self.n_views}, npix, npix) for views "
                             f"{self.views}, got {tuple(x.shape)}")
        b, _, h, w = x.shape
        f = 2**self.depth
        if h != w or h % f or h < f:
            raise ValueError(f"x must hold square maps with npix divisible by {f} (depth {self.depth}), "
                             f"got {h}x{w}")
        if mask is None:
            mask = torch.ones(b, self.n_views, dtype=x.dtype, device=x.device)
        if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != (b, self.n_views):
            raise ValueError(f"mask must be a tensor of shape ({b}, {self.n_views}), got "
                             f"{getattr(mask, 'shape', mask)!r}")
        if self.n_cond:
            if not isinstance(cond, torch.Tensor) or tuple(cond.shape) != (b, self.n_cond):
                raise ValueError(f"cond must be a tensor of shape ({b}, {self.n_cond}), got "
                                 f"{getattr(cond, 'shape', cond)!r}")
            if not bool(torch.isfinite(cond).all()):
                raise ValueError("cond contains NaN or infinite values")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x contains NaN or infinite values (fill masked or missing pixels first)")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask must contain only 0 and 1")
        if not bool((mask.sum(dim=1) > 0).all()):
            raise ValueError("every sample needs at least one present view (mask all zero)")
        return mask

    def _legacy_conditioning(self, cond):
        """A full conditioning vector cut to the features of older weights (`conditioning`)."""
        if (self.conditioning is None or not isinstance(cond, torch.Tensor) or cond.ndim != 2
                or cond.shape[1] == self.n_cond or cond.shape[1] != n_conditioning(self.views)):
            return cond  # any other width is refused by _check, naming the expected shape
        idx = select_conditioning(np.arange(n_conditioning(self.views)), self.views, self.conditioning)
        return cond[:, torch.as_tensor(idx, device=cond.device)]

    def frame_integrals(self, x, mask, cond):
        """``asinh(integral / reference) / 5`` of each view within the frame's R200 disc or the apertures.

        The integral is the sum of ``scale * sinh(x)`` times the pixel area over the frame's R200
        disc, or, with ``integral_apertures_kpc``, over each physical radius (pixels weighted by
        their overlap with the aperture, ``clip(r_ap - r + 1/2, 0, 1)``, and cut at the R200
        disc), in float32 whatever the autocast; missing views give 0.

        Parameters
        ----------
        x, mask, cond : `torch.Tensor`
            As for `forward` (``cond`` the vector these weights take).

        Returns
        -------
        `torch.Tensor`
            Shape ``(batch, n_views)``, or ``(batch, n_views * n_apertures)`` (aperture-major).
        """
        names = self.conditioning if self.conditioning is not None else conditioning_names(self.views)
        i_pix = list(names).index("log10_pixel_kpc")
        with torch.autocast(device_type=x.device.type, enabled=False):
            xf = x.float()
            n = xf.shape[-1]
            pixel_kpc = CONDITIONING_FEATURES["pixel_kpc_reference"] * torch.pow(10.0, cond[:, i_pix].float())
            ref = torch.tensor([FRAME_INTEGRAL_REFERENCE[v] / VIEW_SCALES[v] for v in self.views],
                               device=x.device, dtype=torch.float32)
            phys = torch.sinh(xf)  # in units of the view scale
            if not self.integral_apertures_kpc:
                w = self._disc(n, xf)
                area = np.pi * (n / 2.0 * pixel_kpc) ** 2  # kpc^2
                integral = (phys * w).sum(dim=(2, 3)) * area[:, None]
                return torch.asinh(integral / ref) / 5.0 * mask.float()
            idx = torch.arange(n, device=x.device, dtype=torch.float32) - (n - 1) / 2.0
            r = torch.hypot(idx[None, :], idx[:, None])
            inside = (r <= n / 2.0).float()
            feats = []
            for radius in self.integral_apertures_kpc:
                r_ap = radius / pixel_kpc  # (batch,) in pixels
                w = torch.clamp(r_ap[:, None, None] - r[None] + 0.5, 0.0, 1.0) * inside
                integral = (phys * w[:, None]).sum(dim=(2, 3)) * (pixel_kpc**2)[:, None]
                feats.append(torch.asinh(integral / ref) / 5.0 * mask.float())
            return torch.cat(feats, dim=1)

    def _disc(self, npix, ref):
        key = (npix, ref.device, ref.dtype)
        if key not in self._masks:
            m = disc_mask(npix, device=ref.device, dtype=ref.dtype)
            self._masks[key] = m / m.sum()
        return self._masks[key]

    def forward(self, x, mask=None, cond=None, return_amplitude=False):
        """Predict the transformed mass map.

        Parameters
        ----------
        x : `torch.Tensor`
            Transformed views, shape ``(batch, n_views, npix, npix)``, finite.
        mask : `torch.Tensor`, optional
            Presence of each view, shape ``(batch, n_views)``, 0 or 1 (default: all present).
            Missing views are zeroed whatever ``x`` holds.
        cond : `torch.Tensor`
            Conditioning vectors, shape ``(batch, n_cond)``, or ``(batch, n_conditioning(views))``
            (`~massrecon.models.transforms.encode_conditioning`'s full vector) for weights that
            lack optional features (see `conditioning`).
        return_amplitude : bool
            Also return the predicted disc-mean of ``t`` (shape ``(batch,)``).

        Returns
        -------
        t : `torch.Tensor`
            Shape ``(batch, 1, npix, npix)``.
        """
        cond = self._legacy_conditioning(cond)
        mask = self._check(x, mask, cond)
        b, _, n, _ = x.shape
        m = mask.to(x.dtype)[:, :, None, None]
        h = torch.cat([x * m, m.expand(b, self.n_views, n, n)], dim=1)
        c = cond if self.n_cond else torch.zeros(b, 1, dtype=x.dtype, device=x.device)
        if self.integral_features:
            c = torch.cat([c.float(), self.frame_integrals(x, mask, cond)], dim=1)
        e = self.cond_mlp(c)
        h = self.stem(h, e)
        skips = [h]
        for down, enc in zip(self.down, self.enc, strict=True):
            h = enc(down(h, e), e)
            skips.append(h)
        bottleneck = h
        for i, (proj, dec) in enumerate(zip(self.proj, self.dec, strict=True)):
            skip = skips[-2 - i]
            h = F.interpolate(proj(h), scale_factor=2, mode="nearest") + skip
            h = dec(h, e)
        s = self.head(h)
        w = self._disc(n, s)
        if self.amplitude_head:
            a = self.amp(torch.cat([bottleneck.mean(dim=(2, 3)), e], dim=1))[:, 0]
            s = s - (s * w).sum(dim=(2, 3), keepdim=True) + a[:, None, None, None]
        else:
            a = (s * w).sum(dim=(1, 2, 3))
        return (s, a) if return_amplitude else s


class PatchGANDiscriminator(nn.Module):
    """pix2pix PatchGAN discriminator (70x70 receptive field), conditional on the inputs.

    It sees the transformed views, their presence masks and a mass map, and returns one logit per
    overlapping 70x70-pixel patch.  Layers: 4x4 convolutions with strides 2, 2, 2, 1, 1 and
    widths ``ndf``, 2, 4, 8 ``ndf``, 1 (GroupNorm after all but the first and last).

    Parameters
    ----------
    n_views : int
        Number of view channels.
    ndf : int
        Width of the first layer.

    Examples
    --------
    >>> import torch
    >>> from massrecon.contract import FRAME_NPIX
    >>> from massrecon.models import PatchGANDiscriminator
    >>> d = PatchGANDiscriminator(n_views=1, ndf=4)
    >>> n = FRAME_NPIX  # 80
    >>> d(torch.zeros(1, 1, n, n), torch.ones(1, 1), torch.zeros(1, 1, n, n)).shape
    torch.Size([1, 1, 8, 8])
    """

    def __init__(self, n_views=3, ndf=16):
        super().__init__()
        if isinstance(n_views, bool) or not isinstance(n_views, (int, np.integer)) or n_views < 1:
            raise ValueError(f"n_views must be a positive integer, got {n_views!r}")
        if isinstance(ndf, bool) or not isinstance(ndf, (int, np.integer)) or ndf < 2:
            raise ValueError(f"ndf must be an integer >= 2, got {ndf!r}")
        self.n_views = int(n_views)
        self.ndf = int(ndf)
        cin = 2 * self.n_views + 1
        layers = [nn.Conv2d(cin, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = ndf
        for k, stride in ((2, 2), (4, 2), (8, 1)):
            layers += [nn.Conv2d(c, ndf * k, 4, stride, 1, bias=False),
                       nn.GroupNorm(_groups(ndf * k), ndf * k),
                       nn.LeakyReLU(0.2)]
            c = ndf * k
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x, mask, t):
        """Patch logits for views ``x`` (B, V, N, N), ``mask`` (B, V) and mass map ``t`` (B, 1, N, N)."""
        if x.ndim != 4 or x.shape[1] != self.n_views:
            raise ValueError(f"x must have shape (batch, {self.n_views}, npix, npix), got {tuple(x.shape)}")
        if t.shape != (x.shape[0], 1) + tuple(x.shape[2:]):
            want = (x.shape[0], 1) + tuple(x.shape[2:])
            raise ValueError(f"t must have shape {want}, got {tuple(t.shape)}")
        if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != (x.shape[0], self.n_views):
            raise ValueError(f"mask must be a tensor of shape ({x.shape[0]}, {self.n_views}), got "
                             f"{getattr(mask, 'shape', mask)!r}")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask must contain only 0 and 1")
        m = mask.to(x.dtype)[:, :, None, None]
        h = torch.cat([x * m, m.expand_as(x), t], dim=1)
        return self.net(h)


def count_parameters(model, trainable_only=True):
    """Number of (trainable) parameters of a module.

    Examples
    --------
    >>> from torch import nn
    >>> from massrecon.models import count_parameters
    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


def flops_per_map(model, npix=FRAME_NPIX):
    """Multiply-accumulates of the convolution and linear layers for one map (forward pass).

    Counted with forward hooks on every `~torch.nn.Conv2d` and `~torch.nn.Linear` during one
    forward pass on a zero input of the model's shape; normalisation, activations and
    interpolation (a few percent) are not counted.  Multiply by 2 for floating-point operations.

    Parameters
    ----------
    model : `UNetGenerator` or `PatchGANDiscriminator`
    npix : int
        Map size (default: the model frame, `~massrecon.contract.FRAME_NPIX`).

    Returns
    -------
    int
        MACs per map.

    Examples
    --------
    >>> from massrecon.models import UNetGenerator, flops_per_map
    >>> flops_per_map(UNetGenerator(views=("sz",), base_channels=4, depth=1), npix=8) > 0
    True
    """
    total = [0]

    def conv_hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        total[0] += int(out.numel() // out.shape[0]) * k

    def lin_hook(mod, inp, out):
        total[0] += int(out.numel() // out.shape[0]) * mod.in_features

    hooks = []
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(lin_hook))
    try:
        p = next(model.parameters())
        kw = dict(dtype=p.dtype, device=p.device)
        with torch.no_grad():
            if isinstance(model, UNetGenerator):
                x = torch.zeros(1, model.n_views, npix, npix, **kw)
                model(x, torch.ones(1, model.n_views, **kw), torch.zeros(1, model.n_cond, **kw))
            elif isinstance(model, PatchGANDiscriminator):
                x = torch.zeros(1, model.n_views, npix, npix, **kw)
                model(x, torch.ones(1, model.n_views, **kw), torch.zeros(1, 1, npix, npix, **kw))
            else:
                raise TypeError("model must be a UNetGenerator or PatchGANDiscriminator, got "
                                f"{type(model).__name__}")
    finally:
        for hk in hooks:
            hk.remove()
    return total[0]

