"""Two gloo processes on the CPU give the gradients of one process on the same global batch.

Computed in float64, so that the 1e-6 tolerance tests the data-parallel logic, not rounding."""

import socket

import pytest
import torch
import torch.multiprocessing as mp

from massrecon.models import UNetGenerator
from massrecon.training.losses import generator_loss

_KW = dict(views=("sz", "xray"), base_channels=4, depth=2, max_channels=8, cond_embedding=8)
_WEIGHTS = {"l1_weight": 100.0, "mass_weight": 10.0, "ps_weight": 1.0}


def _batch():
    g = torch.Generator().manual_seed(11)
    b = {"x": torch.randn(4, 2, 16, 16, generator=g),
         "mask": torch.tensor([[1.0, 1], [1, 0], [0, 1], [1, 1]]),
            "cond": torch.randn(4, 8, generator=g), "t": torch.randn(4, 1, 16, 16, generator=g),
            "r200_px": torch.tensor([8.0, 6.0, 7.0, 8.0])}
    return {k: v.double() for k, v in b.items()}


def _grads(model, batch):
    pred = model(batch["x"], batch["mask"], batch["cond"])
    loss, _ = generator_loss(pred, batch, _WEIGHTS)
    loss.backward()
    m = model.module if hasattr(model, "module") else model
    return {k: p.grad.detach().clone() for k, p in m.named_parameters()}


def _worker(rank, world, port, out):
    import os

    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    from massrecon.training.distributed import cleanup_distributed, setup_distributed, wrap_ddp

    ctx = setup_distributed()
    try:
        torch.manual_seed(0)
        model = wrap_ddp(UNetGenerator(**_KW).double(), ctx)
        b = _batch()
        n = 4 // world
        shard = {k: v[rank * n:(rank + 1) * n] for k, v in b.items()}
        grads = _grads(model, shard)
        if rank == 0:
            torch.save(grads, out)
        dist.barrier()
    finally:
        cleanup_distributed(ctx)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_ddp_gradients_match_single_process(tmp_path):
    torch.manual_seed(0)
    ref = _grads(UNetGenerator(**_KW).double(), _batch())
    out = tmp_path / "grads.pt"
    mp.start_processes(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True, start_method="spawn")
    got = torch.load(out, weights_only=True)
    assert set(got) == set(ref)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=0, atol=1e-6, msg=k)


def _train_worker(rank, world, port, cfg_json, run_a, run_b):
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.use_deterministic_algorithms(True)
    import torch.distributed as dist

    from massrecon.training import TrainingConfig, train

    # one process group for the three runs (train() leaves a group it did not create alone):
    # re-creating the rendezvous on the same port between runs can race on a loaded machine
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        cfg = TrainingConfig.from_json(cfg_json)
        train(cfg, run_a, progress=False)
        train(cfg, run_b, stop_at=2, progress=False)  # interrupted, then resumed
        train(None, run_b, resume=True, progress=False)
        assert dist.is_initialized()
    finally:
        dist.destroy_process_group()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_ddp_training_run_matches_single_process(tiny_config, tmp_path):
    """The whole training loop (sharded sampler, GAN, checkpoints, resume) on 2 gloo processes
    gives the weights of one process on the same global batch."""
    import dataclasses

    from massrecon.training import load_checkpoint, train

    torch.use_deterministic_algorithms(True)
    # float32: "auto" takes bfloat16 on a CPU with bfloat16 hardware, whose rounding differs between
    # the global batch and its two shards by more than the tolerance below
    cfg = dataclasses.replace(tiny_config, steps=4, checkpoint_interval=2, val_interval=2, threads=1,
                              autocast="none")
    train(cfg, tmp_path / "single", progress=False)
    mp.start_processes(_train_worker, nprocs=2, join=True, start_method="spawn",
                       args=(2, _free_port(), cfg.to_json(), str(tmp_path / "ddp"), str(tmp_path / "ddp_resumed")))
    single = load_checkpoint(tmp_path / "single")
    ddp = load_checkpoint(tmp_path / "ddp")
    resumed = load_checkpoint(tmp_path / "ddp_resumed")
    assert ddp["world_size"] == 2 and len(ddp["rng"]) == 2 and ddp["step"] == 4
    bad = []
    for name in ("generator", "discriminator"):
        for k, v in single[name].items():
            # the head's bias has an exactly zero gradient (the amplitude head removes the map's
            # mean), so Adam turns its rounding noise into full steps: nothing to compare
            if not v.is_floating_point():
                continue
            assert torch.equal(resumed[name][k], ddp[name][k]), f"resume differs: {name}.{k}"
            if f"{name}.{k}" != "generator.head.bias" and not torch.allclose(ddp[name][k], v, rtol=1e-4, atol=1e-5):
                bad.append((f"{name}.{k}", float((ddp[name][k] - v).abs().max())))
    assert not bad, bad
    # a checkpoint of 2 processes cannot be resumed by one
    with pytest.raises(ValueError, match="written by 2 processes"):
        train(None, tmp_path / "ddp", resume=True, progress=False)
