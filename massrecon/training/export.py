"""Export of a training run as shippable weights: ``generator.pt`` and ``generator.json``.

The layout and the loader live in `massrecon.models` (`~massrecon.models.load_generator`,
`~massrecon.models.WEIGHTS_FORMAT`); this module writes them from a checkpoint, so the models do
not depend on the training code.  The metadata records the model's constructor arguments, views,
transform constants, conditioning features, the frame (`~massrecon.contract.FRAME_NPIX` pixels
over `~massrecon.contract.FRAME_SIZE_R200` R200 for the bundled weights), the ranges of beams,
noise, redshift and mass seen in training, the training configuration and seed (and those of the
stages a fine-tuned run started from), the massrecon version, the metrics given at export and the
SHA-256 of ``generator.pt``.
"""

import datetime
import json
from pathlib import Path

import h5py
import torch

from .. import __version__
from ..contract import FRAME_SIZE_R200
from ..logger import log
from ..models._weights import WEIGHTS_FORMAT, sha256_file
from ..models.transforms import TRANSFORM_CONSTANTS, conditioning_names
from ..models.unet import UNetGenerator, count_parameters
from .config import TrainingConfig
from .loop import load_checkpoint, load_init_source

__all__ = ["export_weights"]


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


def _supported(config):
    """The ``supported`` table of the metadata: the ranges of the training data and augmentations."""
    if config.simulate:  # data made on the fly: the ranges are those of the simulation table
        logm, zr = list(config.simulate["log_m200_range"]), list(config.simulate["z_range"])
    else:
        logm, zr = _data_ranges(config.data_paths)
    aug = config.augment
    return {
        "beam_fwhm_r200": [0.01, aug.beam_fwhm_r200[1]],
        "noise": {"sz": [0.0, aug.noise_sz[1]], "xray": [0.0, aug.noise_xray[1]],
                  "stars": [0.0, aug.noise_stars[1]]},
        "xray_background_ref": list(aug.xray_background),
        "frame_scale": list(aug.frame_jitter),
        "r200_error": [0.0, aug.r200_error[1]],
        # filtered y maps: the high-pass dispersions trained on, in R200 of the frame as the network
        # is told them (the draw is in true R200, the frame 1 +- frame_jitter of it); absent: unfiltered only
        **({"sz_highpass_r200": [aug.sz_highpass_r200[0] / aug.frame_jitter[1],
                                 aug.sz_highpass_r200[1] / aug.frame_jitter[0]]}
           if aug.sz_highpass_probability > 0 else {}),
        "log10_m200_h": logm,
        "z": zr,
    }


def _record_stages(training, config, run_base):
    """Nest in ``training`` the configurations of the stages a fine-tuned run started from (its
    ``init_from`` chain), each in the next, stopping at a loop or an unreadable checkpoint."""
    node, source, seen = training, config.init_from, set()
    while source:
        key = Path(source).resolve()
        if key in seen:  # a run directory reused for a later stage: the chain loops
            log.warning(f"init_from of {source} loops back to a stage already recorded; the chain stops there")
            break
        seen.add(key)
        try:
            earlier = load_init_source(source)
        except (OSError, ValueError) as exc:
            log.warning(f"init_from source {source} not readable ({exc}); its configuration "
                        "is not recorded in the metadata")
            break
        # exported weights carry their configuration already portable (relative to their work directory)
        cfg = earlier["config"] if "weights" in earlier else _portable(earlier["config"], run_base)
        node["init_from"] = {"config": cfg, "step": int(earlier["step"]),
                             "massrecon_version": earlier.get("massrecon_version")}
        if "weights" in earlier:
            # and their own stages: copy them and stop
            node["init_from"]["weights_sha256"] = earlier["weights"].get("sha256")
            if "init_from" in earlier["weights"]["training"]:
                node["init_from"]["init_from"] = earlier["weights"]["training"]["init_from"]
            break
        node, source = node["init_from"], earlier["config"].get("init_from")


def _output_files(out_dir, overwrite):
    """``generator.pt`` and ``generator.json`` in ``out_dir`` (created), refusing existing files
    unless ``overwrite``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pt, js = out_dir / "generator.pt", out_dir / "generator.json"
    for f in (pt, js):
        if f.exists() and not overwrite:
            raise FileExistsError(f"{f} exists (pass overwrite=True to replace it)")
    return pt, js


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
        The metadata written (read back by `~massrecon.models.load_generator`).

    Examples
    --------
    Train a tiny generator for one step (data simulated on the fly) and export it:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from massrecon.training import TrainingConfig, export_weights, train
    >>> tmp = tempfile.TemporaryDirectory()
    >>> cfg = TrainingConfig(simulate={"n_halos": 3, "npix": 24, "size_r200": 2.6, "projections": 1},
    ...                      views=["sz"], npix=16, base_channels=4, depth=1, max_channels=8,
    ...                      cond_embedding=4, batch_size=1, steps=1, warmup_steps=1, gan_weight=0.0,
    ...                      val_batches=0)
    >>> run = Path(tmp.name) / "run"
    >>> _ = train(cfg, run, progress=False)
    >>> meta = export_weights(run, Path(tmp.name) / "weights", metrics={"val_l1": 0.5})  # doctest: +IGNORE_OUTPUT
    INFO: weights of step 1 written to .../weights [massrecon.training.export]
    >>> sorted(p.name for p in (Path(tmp.name) / "weights").iterdir())
    ['generator.json', 'generator.pt']
    >>> meta["views"], meta["frame"], meta["training"]["step"], meta["metrics"]
    (['sz'], {'npix': 16, 'size_r200': 2.0}, 1, {'val_l1': 0.5})
    >>> tmp.cleanup()
    """
    ckpt = load_checkpoint(run_dir_or_checkpoint)
    config = TrainingConfig.from_dict(ckpt["config"])
    src = Path(run_dir_or_checkpoint).resolve()
    run_base = (src if src.is_dir() else src.parent).parent
    gen = UNetGenerator(**config.model_kwargs())
    gen.load_state_dict(ckpt["generator"])
    pt, js = _output_files(out_dir, overwrite)
    if metrics is not None:
        try:
            json.dumps(metrics)
        except TypeError as exc:
            raise TypeError(f"metrics must be JSON-serialisable: {exc}") from None
    torch.save(gen.state_dict(), pt)
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
        "frame": {"npix": config.npix, "size_r200": FRAME_SIZE_R200},
        "supported": _supported(config),
        "training": {"config": _portable(config.to_dict(), run_base), "seed": config.seed,
                     "step": int(ckpt["step"]),
                     "massrecon_version": ckpt.get("massrecon_version")},
        "metrics": metrics or {},
    }
    _record_stages(meta["training"], config, run_base)
    js.write_text(json.dumps(meta, indent=1, sort_keys=True))
    log.info(f"weights of step {ckpt['step']} written to {pt.parent}")
    return meta
