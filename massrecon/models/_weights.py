"""Weights files: a generator ``state_dict`` (``generator.pt``) and its metadata
(``generator.json``), and their loader.

The metadata (weights format `WEIGHTS_FORMAT`) holds everything needed to use the weights
correctly: the model's constructor arguments, views, transform constants, conditioning features,
the frame (``npix`` pixels over ``size_r200`` R200), the ranges of beams, noise, redshift and
mass the model was trained on, the training configuration and seed, the massrecon version, the
metrics given at export and the SHA-256 of ``generator.pt``.  Loading checks the format and
the checksum and uses ``torch.load(weights_only=True)``: nothing is unpickled.

The files are written from a training run by `massrecon.training.export_weights`: the models
never import the training code.
"""

import hashlib
import json
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import torch

from .. import __version__
from ..contract import OPTIONAL_CONDITIONING
from ..exceptions import MassreconWarning
from .transforms import TRANSFORM_CONSTANTS, conditioning_names, select_conditioning
from .unet import UNetGenerator

__all__ = ["WEIGHTS_FORMAT", "load_generator", "sha256_file"]

#: Version of the layout of ``generator.pt`` + ``generator.json``; loaders refuse other values.
WEIGHTS_FORMAT = 1


def sha256_file(path):
    """Hex SHA-256 digest of a file (the checksum of ``generator.pt`` in its metadata).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from massrecon.models._weights import sha256_file
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "empty"
    ...     _ = path.write_bytes(b"")
    ...     sha256_file(path)[:16]
    'e3b0c44298fc1c14'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _major_minor(version):
    """The (major, minor) strings of a version."""
    parts = str(version).split(".")
    return tuple(parts[:2])


def _check_metadata(meta, path):
    """Required keys, and transform constants equal to this version's: the reconstructor encodes
    inputs with the code's constants, so weights trained with others would get wrong inputs."""
    for key, kind in (("model", dict), ("views", list), ("transforms", dict), ("frame", dict)):
        if not isinstance(meta.get(key), kind):
            raise ValueError(f"the metadata of {path} lacks {key!r} (a {kind.__name__}): it is not a "
                             "massrecon weights file or was edited")
    if meta["model"].get("class") != "UNetGenerator":
        raise ValueError(f"unknown model class {meta['model'].get('class')!r} in the metadata of {path} "
                         "(expected 'UNetGenerator')")
    if not isinstance(meta["model"].get("kwargs"), dict):
        raise ValueError(f"the metadata of {path} lacks model.kwargs (the generator's constructor arguments)")
    for key in ("npix", "size_r200"):
        if key not in meta["frame"]:
            raise ValueError(f"the metadata of {path} lacks frame.{key}")
    code = json.loads(json.dumps(TRANSFORM_CONSTANTS))  # tuples -> lists, as in the file
    differ = sorted(k for k in set(code) | set(meta["transforms"])
                    if not _same_constant(k, code.get(k), meta["transforms"].get(k)))
    if differ:
        detail = "; ".join(f"{k}: file {meta['transforms'].get(k)!r}, expected {code.get(k)!r}" for k in differ)
        raise ValueError(f"the weights in {path} were trained with other transform constants than "
                         f"massrecon {__version__} uses ({detail}): install the massrecon version that "
                         "wrote them, or retrain")


def _same_constant(key, ours, theirs):
    """Whether a transform constant of the file equals this version's."""
    # unit strings are compared as units: "erg / (kpc2 s)" and "erg / (s kpc2)" are one unit
    if key in ("view_units", "target_unit") and ours is not None and theirs is not None:
        try:
            if key == "target_unit":
                return u.Unit(ours) == u.Unit(theirs)
            return set(ours) == set(theirs) and all(u.Unit(ours[v]) == u.Unit(theirs[v]) for v in ours)
        except (ValueError, TypeError, AttributeError):
            return False
    if key == "conditioning" and isinstance(ours, dict) and isinstance(theirs, dict):
        ours = _without_missing_optional(ours, theirs)
    return ours == theirs


def _without_missing_optional(ours, theirs):
    """This version's conditioning constants less the optional features (and their constants) that
    weights written before them lack (`~massrecon.contract.OPTIONAL_CONDITIONING`)."""
    ours = dict(ours)
    for name in OPTIONAL_CONDITIONING:
        if name in ours.get("global", []) and name not in theirs.get("global", []):
            ours["global"] = [g for g in ours["global"] if g != name]
            ours = {k: v for k, v in ours.items() if not k.startswith(name + "_")}
    return ours


def load_generator(path, metadata_json=None):
    """Load a generator from ``generator.pt`` and its metadata, checking format and checksum.

    Parameters
    ----------
    path : str or path
        The state-dict file.
    metadata_json : str, path or dict, optional
        The metadata file (default: ``path`` with suffix ``.json``) or its content.

    Returns
    -------
    model : `UNetGenerator`
        In evaluation mode, on the CPU.
    metadata : dict

    Raises
    ------
    FileNotFoundError
        Missing files.
    ValueError
        Unknown ``weights_format``, SHA-256 mismatch (tampered or truncated file), or weights
        that do not fit the described model.

    Examples
    --------
    A round trip through `~massrecon.training.export_weights`, with a tiny generator trained for one step:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from massrecon.models import load_generator
    >>> from massrecon.training import TrainingConfig, export_weights, train
    >>> tmp = tempfile.TemporaryDirectory()
    >>> cfg = TrainingConfig(simulate={"n_halos": 3, "npix": 24, "size_r200": 2.6, "projections": 1},
    ...                      views=["sz"], npix=16, base_channels=4, depth=1, max_channels=8,
    ...                      cond_embedding=4, batch_size=1, steps=1, warmup_steps=1, gan_weight=0.0,
    ...                      val_batches=0)
    >>> _ = train(cfg, Path(tmp.name) / "run", progress=False)
    >>> meta = export_weights(Path(tmp.name) / "run", Path(tmp.name) / "weights")  # doctest: +IGNORE_OUTPUT
    INFO: weights of step 1 written to .../weights [massrecon.training.export]
    >>> model, meta2 = load_generator(Path(tmp.name) / "weights" / "generator.pt")
    >>> model.views, model.training, meta2["sha256"] == meta["sha256"]
    (('sz',), False, True)
    >>> tmp.cleanup()
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found")
    if metadata_json is None:
        metadata_json = path.with_suffix(".json")
    if isinstance(metadata_json, dict):
        meta = metadata_json
    else:
        mpath = Path(metadata_json)
        if not mpath.is_file():
            raise FileNotFoundError(f"weights metadata {mpath} not found")
        try:
            meta = json.loads(mpath.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{mpath} is not valid JSON: {exc}") from None
    fmt = meta.get("weights_format")
    if fmt != WEIGHTS_FORMAT:
        raise ValueError(f"weights_format {fmt!r} is not supported by massrecon {__version__} "
                         f"(expected {WEIGHTS_FORMAT})")
    digest = sha256_file(path)
    if digest != meta.get("sha256"):
        raise ValueError(f"SHA-256 of {path} ({digest[:12]}...) does not match its metadata "
                         f"({str(meta.get('sha256'))[:12]}...): the file is corrupted, truncated or modified")
    # "0.0.0" is the fallback of a source tree without version information: nothing to compare
    if __version__ != "0.0.0" and _major_minor(meta.get("massrecon_version", "")) != _major_minor(__version__):
        warnings.warn(f"weights exported by massrecon {meta.get('massrecon_version')}, running "
                      f"{__version__}", MassreconWarning)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"cannot read {path} as a weights-only state dict: {exc}") from None
    _check_metadata(meta, path)
    spec = meta["model"]
    try:
        model = UNetGenerator(**spec["kwargs"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the metadata of {path} describes a model this version cannot build "
                         f"(model.kwargs {spec['kwargs']}): {exc}") from None
    if list(meta["views"]) != list(model.views):
        raise ValueError(f"the metadata of {path} lists the views {meta['views']} but its model has "
                         f"{list(model.views)}")
    expected = conditioning_names(model.views)
    names = expected if meta.get("conditioning") is None else list(meta["conditioning"])
    try:
        select_conditioning(np.zeros(len(expected)), model.views, names)
    except ValueError:
        raise ValueError(f"the weights in {path} expect the conditioning features {meta['conditioning']}, "
                         f"massrecon {__version__} encodes {expected}: re-export them with this version "
                         "(python -m massrecon.validation) or install the version that wrote them") from None
    if len(names) != model.n_cond:
        listed = "has no conditioning list (this version's" if meta.get("conditioning") is None else "lists"
        raise ValueError(f"the metadata of {path} {listed} {len(names)} conditioning features"
                         f"{')' if meta.get('conditioning') is None else ''} but its model takes {model.n_cond}")
    # the features these weights take (older weights lack the optional ones), for select_conditioning
    model.conditioning = names
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"the weights in {path} do not fit the model of the metadata: {exc}") from None
    return model.eval(), meta
