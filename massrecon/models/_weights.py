"""Weights files: a generator ``state_dict`` (``generator.pt``) and its metadata
(``generator.json``).

The metadata (weights format `WEIGHTS_FORMAT`) holds everything needed to use the weights
correctly: the model's constructor arguments, views, transform constants, conditioning features,
the frame (``npix`` pixels over ``size_r200`` R200), the ranges of beams, noise, redshift and
mass the model was trained on, the training configuration and seed, the massrecon version, the
metrics given at export and the SHA-256 of ``generator.pt``.  Loading checks the format and
the checksum and uses ``torch.load(weights_only=True)``: nothing is unpickled.
"""

import datetime
import hashlib
import json
import warnings
from pathlib import Path

import astropy.units as u
import h5py
import torch

from .. import __version__
from ..exceptions import MassreconWarning
from ..logger import log
from .transforms import TRANSFORM_CONSTANTS, conditioning_names
from .unet import UNetGenerator, count_parameters

__all__ = ["WEIGHTS_FORMAT", "export_weights", "load_generator", "sha256_file"]

#: Version of the layout of ``generator.pt`` + ``generator.json``; loaders refuse other values.
WEIGHTS_FORMAT = 1


def sha256_file(path):
    """Hex SHA-256 digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _major_minor(version):
    parts = str(version).split(".")
    return tuple(parts[:2])


def _data_ranges(paths):
    """Mass and redshift ranges of the simulations behind the data sets (None if unreadable)."""
    logm, zr = [], []
    for p in paths:
        try:
            with h5py.File(p, "r") as fh:
                cfg = json.loads(fh.attrs["config"])
        except Exception:
            continue
        logm += list(cfg.get("log_m200_range", []))
        zr += list(cfg.get("z_range", []))
    return ([min(logm), max(logm)] if logm else None), ([min(zr), max(zr)] if zr else None)


def _portable(config_dict, base):
    """A configuration with the paths below ``base`` made relative to it, as a TOML next to the
    data would give them: the metadata must not depend on where the run happened."""
    d = dict(config_dict)

    def rel(p):
        try:
            return str(Path(p).resolve().relative_to(base))
        except ValueError:
            return p

    d["data_paths"] = [rel(p) for p in d.get("data_paths", [])]
    if d.get("init_from"):
        d["init_from"] = rel(d["init_from"])
    return d


def export_weights(run_dir_or_checkpoint, out_dir, metrics=None, overwrite=False):
    """Write ``generator.pt`` and ``generator.json`` from a training run or checkpoint.

    Parameters
    ----------
    run_dir_or_checkpoint : str or path
        A run directory (its ``checkpoint.pt`` is used) or a checkpoint file.
    out_dir : str or path
        Output directory (created).
    metrics : dict, optional
        Test metrics to record (JSON-serialisable).
    overwrite : bool
        Replace existing files.

    Returns
    -------
    dict
        The metadata written.

    Examples
    --------
    Train a tiny generator for one step (data simulated on the fly) and export it:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from massrecon.models import export_weights
    >>> from massrecon.training import TrainingConfig, train
    >>> tmp = tempfile.TemporaryDirectory()
    >>> cfg = TrainingConfig(simulate={"n_halos": 3, "npix": 24, "size_r200": 2.6, "projections": 1},
    ...                      views=["sz"], npix=16, base_channels=4, depth=1, max_channels=8,
    ...                      cond_embedding=4, batch_size=1, steps=1, warmup_steps=1, gan_weight=0.0,
    ...                      val_batches=0)
    >>> run = Path(tmp.name) / "run"
    >>> _ = train(cfg, run, progress=False)
    >>> meta = export_weights(run, Path(tmp.name) / "weights", metrics={"val_l1": 0.5})  # doctest: +IGNORE_OUTPUT
    INFO: weights of step 1 written to .../weights [massrecon.models._weights]
    >>> sorted(p.name for p in (Path(tmp.name) / "weights").iterdir())
    ['generator.json', 'generator.pt']
    >>> meta["views"], meta["frame"], meta["training"]["step"], meta["metrics"]
    (['sz'], {'npix': 16, 'size_r200': 2.0}, 1, {'val_l1': 0.5})
    >>> tmp.cleanup()
    """
    from ..training.config import TrainingConfig
    from ..training.loop import load_checkpoint

    ckpt = load_checkpoint(run_dir_or_checkpoint)
    config = TrainingConfig.from_dict(ckpt["config"])
    src = Path(run_dir_or_checkpoint).resolve()
    run_base = (src if src.is_dir() else src.parent).parent
    gen = UNetGenerator(**config.model_kwargs())
    gen.load_state_dict(ckpt["generator"])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pt, js = out_dir / "generator.pt", out_dir / "generator.json"
    for f in (pt, js):
        if f.exists() and not overwrite:
            raise FileExistsError(f"{f} exists (pass overwrite=True to replace it)")
    if metrics is not None:
        try:
            json.dumps(metrics)
        except TypeError as exc:
            raise TypeError(f"metrics must be JSON-serialisable: {exc}") from None
    torch.save(gen.state_dict(), pt)
    if config.simulate:  # data made on the fly: the ranges are those of the simulation table
        logm, zr = list(config.simulate["log_m200_range"]), list(config.simulate["z_range"])
    else:
        logm, zr = _data_ranges(config.data_paths)
    aug = config.augment
    meta = {
        "weights_format": WEIGHTS_FORMAT,
        "massrecon_version": __version__,
        "torch_version": torch.__version__,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "file": pt.name,
        "sha256": sha256_file(pt),
        "model": {"class": "UNetGenerator", "kwargs": gen.config(), "parameters": count_parameters(gen)},
        "views": list(gen.views),
        "conditioning": conditioning_names(gen.views),
        "transforms": TRANSFORM_CONSTANTS,
        "frame": {"npix": config.npix, "size_r200": 2.0},
        "supported": {
            "beam_fwhm_r200": [0.01, aug.beam_fwhm_r200[1]],
            "noise": {"sz": [0.0, aug.noise_sz[1]], "xray": [0.0, aug.noise_xray[1]],
                      "stars": [0.0, aug.noise_stars[1]]},
            "xray_background_ref": list(aug.xray_background),
            "frame_scale": list(aug.frame_jitter),
            "r200_error": [0.0, aug.r200_error[1]],
            "log10_m200_h": logm,
            "z": zr,
        },
        "training": {"config": _portable(config.to_dict(), run_base), "seed": config.seed,
                     "step": int(ckpt["step"]),
                     "massrecon_version": ckpt.get("massrecon_version")},
        "metrics": metrics or {},
    }
    # a fine-tuned run: record the stages it started from as well, each nested in the next
    from ..training.loop import load_checkpoint

    node, source, seen = meta["training"], config.init_from, set()
    while source:
        key = Path(source).resolve()
        if key in seen:  # a run directory reused for a later stage: the chain loops
            log.warning(f"init_from of {source} loops back to a stage already recorded; the chain stops there")
            break
        seen.add(key)
        try:
            earlier = load_checkpoint(source)
        except (OSError, ValueError) as exc:
            log.warning(f"init_from checkpoint {source} not readable ({exc}); its configuration "
                        "is not recorded in the metadata")
            break
        node["init_from"] = {"config": _portable(earlier["config"], run_base), "step": int(earlier["step"]),
                             "massrecon_version": earlier.get("massrecon_version")}
        node, source = node["init_from"], earlier["config"].get("init_from")
    js.write_text(json.dumps(meta, indent=1, sort_keys=True))
    log.info(f"weights of step {ckpt['step']} written to {out_dir}")
    return meta


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
    # unit strings are compared as units: "erg / (kpc2 s)" and "erg / (s kpc2)" are one unit
    if key in ("view_units", "target_unit") and ours is not None and theirs is not None:
        try:
            if key == "target_unit":
                return u.Unit(ours) == u.Unit(theirs)
            return set(ours) == set(theirs) and all(u.Unit(ours[v]) == u.Unit(theirs[v]) for v in ours)
        except (ValueError, TypeError, AttributeError):
            return False
    return ours == theirs


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
    A round trip through `export_weights`, with a tiny generator trained for one step:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from massrecon.models import export_weights, load_generator
    >>> from massrecon.training import TrainingConfig, train
    >>> tmp = tempfile.TemporaryDirectory()
    >>> cfg = TrainingConfig(simulate={"n_halos": 3, "npix": 24, "size_r200": 2.6, "projections": 1},
    ...                      views=["sz"], npix=16, base_channels=4, depth=1, max_channels=8,
    ...                      cond_embedding=4, batch_size=1, steps=1, warmup_steps=1, gan_weight=0.0,
    ...                      val_batches=0)
    >>> _ = train(cfg, Path(tmp.name) / "run", progress=False)
    >>> meta = export_weights(Path(tmp.name) / "run", Path(tmp.name) / "weights")  # doctest: +IGNORE_OUTPUT
    INFO: weights of step 1 written to .../weights [massrecon.models._weights]
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
    if meta.get("conditioning") is not None and list(meta["conditioning"]) != expected:
        raise ValueError(f"the weights in {path} expect the conditioning features {meta['conditioning']}, "
                         f"massrecon {__version__} encodes {expected}: re-export them with this version "
                         "(python -m massrecon.validation) or install the version that wrote them")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"the weights in {path} do not fit the model of the metadata: {exc}") from None
    return model.eval(), meta
